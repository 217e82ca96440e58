import { safeStorage } from 'electron';
import type { SecretBox } from '../engine/saved-targets';

/**
 * Saved passwords go through the OS keychain (safeStorage). Where Electron would fall
 * back to plain text (Linux without a secret service), passwords are not saved, and the
 * user is told why.
 */
export const safeStorageBox: SecretBox = {
  unavailable() {
    if (!safeStorage.isEncryptionAvailable()) return 'this system offers Poolscope no keychain (Electron safeStorage is unavailable)';
    if (process.platform === 'linux' && safeStorage.getSelectedStorageBackend() === 'basic_text') {
      return 'on this desktop Electron would keep it in plain text (no secret service such as GNOME Keyring or KWallet is running)';
    }
    return null;
  },
  seal: (secret) => safeStorage.encryptString(secret).toString('base64'),
  open: (sealed) => safeStorage.decryptString(Buffer.from(sealed, 'base64')),
};
