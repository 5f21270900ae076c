export { createChildStreamSource, type ChildStreamSource } from './child-source';
export { ChildCursorTooLargeError, MAX_CURSOR_BYTES, type ChildStreamCursor } from './child-cursor';
