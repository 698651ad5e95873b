import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ProcessSet, Spawned } from "../procs/process-set.js";
import { waitFor } from "../procs/wait.js";
import { freePort, httpGet } from "./http-probe.js";

export interface NginxRoute {
  /** Port the fake backend listens on. */
  readonly upstreamPort: number;
  readonly name: string;
}

export interface RunningNginx {
  readonly process: Spawned;
  /** name → port nginx listens on for that backend. */
  readonly ports: ReadonlyMap<string, number>;
}

/**
 * The reference reverse proxy, configured the way one would put nginx in front of an SSE
 * API: HTTP/1.1 keep-alive to the upstream, no response buffering (each chunk goes out as it
 * arrives), no request buffering, one worker (the gateway is one Node process too), and an
 * access log line per request (the gateway logs every request too).
 */
function config(dir: string, routes: ReadonlyMap<string, { listen: number; upstream: number }>, key: string) {
  const upstreams: string[] = [];
  const servers: string[] = [];
  for (const [name, { listen, upstream }] of routes) {
    upstreams.push(`  upstream ${name} {
    server 127.0.0.1:${upstream};
    keepalive 256;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
  }`);
    servers.push(`  server {
    listen 127.0.0.1:${listen} backlog=4096;
    location / {
      proxy_pass http://${name};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "Bearer ${key}";
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 300s;
    }
  }`);
  }
  return `# Written by bench/systems/nginx.ts for one bench run.
worker_processes 1;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
worker_rlimit_nofile 20000;
events { worker_connections 8192; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  tcp_nodelay on;
${upstreams.join("\n")}
${servers.join("\n")}
}
`;
}

/** Starts nginx on loopback with its own config, pid, logs and temp dirs under `dir`. */
export async function startNginx(
  set: ProcessSet,
  binary: string,
  dir: string,
  routes: readonly NginxRoute[],
  upstreamKey: string,
): Promise<RunningNginx> {
  mkdirSync(join(dir, "tmp"), { recursive: true });
  const ports = new Map<string, number>();
  const table = new Map<string, { listen: number; upstream: number }>();
  for (const route of routes) {
    const listen = await freePort();
    ports.set(route.name, listen);
    table.set(route.name, { listen, upstream: route.upstreamPort });
  }
  const conf = join(dir, "nginx.conf");
  writeFileSync(conf, config(dir, table, upstreamKey));
  // -e: the error log before the config is read (else /var/log/nginx, which may not exist).
  const spawned = set.spawn("nginx", binary, ["-e", join(dir, "error.log"), "-p", dir, "-c", conf]);
  for (const [name, port] of ports) {
    await waitFor(
      `nginx to proxy ${name}`,
      async () => {
        if (spawned.child.exitCode !== null) throw new Error(`nginx exited:\n${spawned.output()}`);
        return (await httpGet(port, "/health")) === 200 ? true : undefined;
      },
      10_000,
      20,
    );
  }
  return { process: spawned, ports };
}
