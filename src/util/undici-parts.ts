/// <reference path="./undici-deep.d.ts" />
import type * as Undici from "undici";
import apiMethods from "undici/lib/api/index.js";
import AgentClass from "undici/lib/dispatcher/agent.js";
import ClientClass from "undici/lib/dispatcher/client.js";
import DispatcherClass from "undici/lib/dispatcher/dispatcher.js";
import PoolClass from "undici/lib/dispatcher/pool.js";

/**
 * The parts of undici the gateway uses, from their own files: undici's index also loads fetch,
 * WebSocket, EventSource, the mocks, the cache stores and the proxy agents, about 9 MB of the
 * gateway's resident memory that nothing here uses (bench/report/notes.md, "Memory"). Import
 * Agent, Pool and Client from here, never from "undici" (types excepted); undici-parts.test.ts
 * pins that these paths exist in the installed version (its package.json has no `exports`, so
 * any file resolves) and are the same classes as the index's.
 *
 * The request/stream/pipeline/upgrade/connect methods are put on Dispatcher's prototype as
 * undici's index does (`Object.assign(Dispatcher.prototype, api)`), so what the types promise
 * holds: an Agent from here has `request()` like one from "undici". Doing it twice (when a
 * test loads the index as well) assigns the same functions again.
 */
Object.assign(DispatcherClass.prototype, apiMethods);

export const Agent: typeof Undici.Agent = AgentClass;
export const Pool: typeof Undici.Pool = PoolClass;
export const Client: typeof Undici.Client = ClientClass;
