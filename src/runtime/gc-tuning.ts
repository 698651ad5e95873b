import { setFlagsFromString } from "node:v8";

/**
 * Turns off V8's allocation-site pretenuring for the gateway process. V8 watches, per place in
 * the code that allocates, how many of its objects survive a young-generation collection; past a
 * threshold it allocates that site's objects straight in the old generation. Under a request
 * load, sites that make per-request objects (request state, parsed bodies, header objects) get
 * pretenured while a burst keeps them alive, and then every request's garbage lands in the old
 * generation, where it holds young objects alive through each scavenge until the next full
 * collection: scavenges of 4-7 ms three times a second at 1000 requests/s, the whole of the
 * gateway's p99 in bench scenario 1 (8.4 → 2.8 ms with it off; bench/report/notes.md). The
 * gateway's long-lived data is small (config, tables, caches), so it gives up little.
 *
 * V8 reads the flag at each collection, so setting it once the process runs takes effect (a
 * test checks it on an allocation site that would be pretenured). Called first thing by `serve`.
 */
export function avoidPretenuring(): void {
  setFlagsFromString(NO_PRETENURING);
}

export const NO_PRETENURING = "--no-allocation-site-pretenuring";
