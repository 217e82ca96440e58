// The Content-Security-Policy of the UI, one definition for both hosts: the Electron shell
// sends it as a header on every response, and so does the browser host (main/web/). The
// meta tag in renderer/index.html repeats it minus frame-ancestors, which browsers only
// honour in a header. 'self' in connect-src also covers ws:// on the page's own host and
// port (CSP Level 3), which is how the browser host's WebSocket is allowed.
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');
