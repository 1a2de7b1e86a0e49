/**
 * What one key's state costs in a zone, as nginx's slab allocator hands out memory on 64-bit
 * Linux: the next power of two from 8 bytes, whole 4 KiB pages above half a page. A zone of
 * SIZE bytes then holds about SIZE/128 limit_req keys or SIZE/64 limit_conn keys of up to
 * 48 (resp. 28) bytes, such as `$binary_remote_addr`: nginx's documented figures.
 */
const PAGE = 4096;

export function stateBytes(bytes: number): number {
  if (bytes > PAGE / 2) return Math.ceil(bytes / PAGE) * PAGE;
  let size = 8;
  while (size < bytes) size *= 2;
  return size;
}
