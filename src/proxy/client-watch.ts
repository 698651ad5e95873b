/** Told when the client leaves before its response finished; `reason` is the request's own. */
export interface ClientWatcher {
  clientLeft(reason: Error): void;
}

/**
 * How forward learns that the client left, without an AbortSignal and its listeners per
 * request: one watcher slot, set while a forward runs.
 */
export interface ClientWatch {
  /** Why the request ended early (the client left): the same object each time; null while it has not. */
  readonly leftWith: Error | null;
  watchClient(watcher: ClientWatcher | null): void;
}
