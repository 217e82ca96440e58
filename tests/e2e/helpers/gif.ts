import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright';

// An animated GIF of what the page shows, for the README: Chromium's screencast (the frames
// it paints, each with its time) turned into a GIF by Debian's ffmpeg. A full-page or
// per-frame screenshot would stall the page it films; the screencast does not.

/** Debian's ffmpeg: FFMPEG_PATH, else /usr/bin/ffmpeg. */
const ffmpegPath = process.env.FFMPEG_PATH ?? '/usr/bin/ffmpeg';
const WIDTH = 960;
const HEIGHT = 540;
const FPS = 8;
/** How long the last frame stays before the GIF loops. */
const HOLD_S = 1.5;

export interface GifRecording {
  /** Stops the screencast and writes the GIF to `file`. */
  save(file: string): Promise<void>;
}

/**
 * Starts filming `page` at 960x540 (its viewport should be 16:9), or returns null, with one
 * log line, where there is no ffmpeg to make the GIF: then the suite goes on without it.
 */
export async function recordGif(page: Page, name: string): Promise<GifRecording | null> {
  if (!existsSync(ffmpegPath)) {
    console.log(`gif: ${name} skipped: no ffmpeg at ${ffmpegPath} (apt-get install ffmpeg, or set FFMPEG_PATH)`);
    return null;
  }
  const frames: { jpeg: string; t: number }[] = [];
  const cdp = await page.context().newCDPSession(page);
  cdp.on('Page.screencastFrame', (f) => {
    frames.push({ jpeg: f.data, t: f.metadata.timestamp ?? Date.now() / 1_000 });
    // Chromium sends the next frame only once this one is acknowledged.
    cdp.send('Page.screencastFrameAck', { sessionId: f.sessionId }).catch(() => undefined);
  });
  await cdp.send('Page.startScreencast', { format: 'jpeg', quality: 85, maxWidth: WIDTH, maxHeight: HEIGHT });
  return {
    async save(file) {
      await cdp.send('Page.stopScreencast');
      await cdp.detach();
      if (frames.length === 0) throw new Error(`gif: ${name}: the screencast sent no frame`);
      await toGif(frames, file);
    },
  };
}

/** Frames painted at irregular times, each shown until the next: ffmpeg's concat list keeps their timing. */
async function toGif(frames: { jpeg: string; t: number }[], file: string): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'poolscope-gif-'));
  try {
    const list: string[] = [];
    for (const [i, f] of frames.entries()) {
      const name = `f${String(i).padStart(5, '0')}.jpg`;
      await writeFile(path.join(dir, name), Buffer.from(f.jpeg, 'base64'));
      const next = frames[i + 1];
      list.push(`file '${name}'`, `duration ${(next ? Math.max(0.001, next.t - f.t) : HOLD_S).toFixed(3)}`);
    }
    // The concat demuxer takes the last file's duration only when the file is listed once more.
    list.push(`file 'f${String(frames.length - 1).padStart(5, '0')}.jpg'`);
    await writeFile(path.join(dir, 'frames.txt'), `${list.join('\n')}\n`);
    // One palette for the whole clip (the UI's few colours), and only the changed rectangle of
    // each frame re-encoded: the GIF stays well under a megabyte.
    const filter = `fps=${FPS},scale=${WIDTH}:${HEIGHT}:flags=lanczos,split[a][b];[a]palettegen=max_colors=128:stats_mode=diff[p];[b][p]paletteuse=dither=none:diff_mode=rectangle`;
    await promisify(execFile)(ffmpegPath, ['-v', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', path.join(dir, 'frames.txt'), '-filter_complex', filter, '-loop', '0', file]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
