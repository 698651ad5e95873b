/**
 * A key is sent in a header: printable ASCII without spaces, or it could never match. Its own
 * module so that reading a key file (security/key-table.ts, at run time) does not load zod.
 */
export const KEY_PATTERN = /^[\x21-\x7e]+$/;
