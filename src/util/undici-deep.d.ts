// undici's own files, imported one by one by undici-parts.ts; undici ships types for its index
// only. Each default export is that file's module.exports.
declare module "undici/lib/dispatcher/agent.js" {
  const Agent: typeof import("undici").Agent;
  export default Agent;
}
declare module "undici/lib/dispatcher/pool.js" {
  const Pool: typeof import("undici").Pool;
  export default Pool;
}
declare module "undici/lib/dispatcher/client.js" {
  const Client: typeof import("undici").Client;
  export default Client;
}
declare module "undici/lib/dispatcher/dispatcher.js" {
  const Dispatcher: typeof import("undici").Dispatcher;
  export default Dispatcher;
}
declare module "undici/lib/api/index.js" {
  const api: Pick<import("undici").Dispatcher, "request" | "stream" | "pipeline" | "upgrade" | "connect">;
  export default api;
}
