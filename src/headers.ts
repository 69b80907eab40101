/**
 * The response headers every ssekit stream sends.
 * @module
 */

/**
 * The headers of a streaming response for a given `Content-Type`:
 * - `Cache-Control: no-cache, no-transform`: no cache stores the stream, and `no-transform` makes
 *   express `compression()` (and proxies that honour it) pass the frames through uncompressed,
 *   instead of holding them until the end.
 * - `X-Accel-Buffering: no`: nginx otherwise buffers proxied responses.
 *
 * `Connection: keep-alive` is added by the Node transport on HTTP/1.x only (HTTP/2 forbids it).
 *
 * @example Headers for a fetch Response
 * ```ts
 * import { streamHeaders } from 'ssekit';
 *
 * new Response(body, { headers: streamHeaders('text/event-stream') });
 * ```
 */
export function streamHeaders(contentType: string): Record<string, string> {
  return {
    'content-type': contentType,
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
  };
}
