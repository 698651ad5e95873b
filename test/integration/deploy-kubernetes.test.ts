import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { lstat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Deployment, type IDeployment } from "kubernetes-models/apps/v1/Deployment";
import {
  type IPodDisruptionBudget,
  PodDisruptionBudget,
} from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap, type IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IContainer } from "kubernetes-models/v1/Container";
import {
  type IPersistentVolumeClaim,
  PersistentVolumeClaim,
} from "kubernetes-models/v1/PersistentVolumeClaim";
import type { IProbe } from "kubernetes-models/v1/Probe";
import { type IService, Service } from "kubernetes-models/v1/Service";
import { parseAllDocuments, parseDocument } from "yaml";
import { parseCli } from "../../src/cli/args.js";
import { parseConfig } from "../../src/config/load.js";
import type { GatewayConfig } from "../../src/config/types.js";
import { writeGguf } from "../../src/llama/gguf-writer.js";
import { configState, watchFile } from "../../src/runtime/watch-file.js";
import { waitFor } from "../support/deadline.js";

/**
 * deploy/kubernetes/: every manifest is valid against its Kubernetes JSON schema
 * (kubernetes-models), and fits the gateway: probes on /health at the container port, a
 * preStop and a grace period longer than the drain, selectors that match, a config the
 * gateway accepts, and a --watch that sees a ConfigMap update (docs/deploy.md, "Kubernetes").
 */
const ROOT = new URL("../../", import.meta.url).pathname;
const DIR = join(ROOT, "deploy/kubernetes");
const BIN = join(ROOT, "src/cli/bin.ts");
/** After the drain, how long cut requests get to write their error (CUT_GRACE_MS in src/main.ts). */
const CUT_GRACE_MS = 1_000;
const CONFIG_PATH = "/etc/llamawrapper/config.yaml";

interface Manifest {
  readonly file: string;
  readonly doc: { apiVersion?: string; kind?: string; metadata?: { name?: string } };
}

function loadManifests(): Manifest[] {
  const out: Manifest[] = [];
  for (const file of readdirSync(DIR)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()) {
    for (const document of parseAllDocuments(readFileSync(join(DIR, file), "utf8"))) {
      assert.deepEqual(document.errors, [], `${file} parses as YAML`);
      const doc = document.toJS() as Manifest["doc"] | null;
      if (doc !== null) out.push({ file, doc });
    }
  }
  return out;
}

const manifests = loadManifests();

/** The schema-checked model for each kind this folder holds; a kind not listed here fails. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "v1/ConfigMap": ConfigMap,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
};

function one<T>(kind: string): T {
  const found = manifests.filter((m) => m.doc.kind === kind);
  assert.equal(found.length, 1, `one ${kind} in deploy/kubernetes`);
  return found[0]?.doc as T;
}

const deployment = one<IDeployment>("Deployment");
const service = one<IService>("Service");
const pdb = one<IPodDisruptionBudget>("PodDisruptionBudget");
const configMap = one<IConfigMap>("ConfigMap");
const claim = one<IPersistentVolumeClaim>("PersistentVolumeClaim");
const pod = deployment.spec?.template.spec;
const podLabels = deployment.spec?.template.metadata?.labels ?? {};
const gateway = pod?.containers.find((c) => c.name === "gateway") as IContainer;
const configText = configMap.data?.["config.yaml"] ?? "";

/** The environment the container gets: literal values, and a stand-in for each Secret key. */
function containerEnv(): Record<string, string> {
  return Object.fromEntries(
    (gateway.env ?? []).map((e) => [
      e.name,
      e.value ?? `from-${e.valueFrom?.secretKeyRef?.key ?? "elsewhere"}`,
    ]),
  );
}

/** The ConfigMap's config as the gateway reads it, with one discovered model in /models. */
function gatewayConfig(): GatewayConfig {
  const result = parseConfig(configText, {
    baseDir: "/etc/llamawrapper",
    env: containerEnv(),
    source: CONFIG_PATH,
    checkFiles: false,
    discovered: { chat: { entry: { model: "/models/chat.gguf", args: [] }, from: "/models/chat.gguf" } },
  });
  assert.ok(
    result.ok,
    `the ConfigMap's config is valid: ${JSON.stringify(result.ok ? [] : result.problems)}`,
  );
  return result.config;
}

function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([key, value]) => labels[key] === value);
}

function containerPort(port: number | string | undefined): number | undefined {
  if (typeof port === "number") return port;
  return gateway.ports?.find((p) => p.name === port)?.containerPort;
}

describe("the Kubernetes manifests", () => {
  test("every document is a Kubernetes object valid against its schema", () => {
    for (const { file, doc } of manifests) {
      if (doc.kind === "Kustomization") continue;
      const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
      assert.ok(Model !== undefined, `${file}: no schema for ${doc.apiVersion} ${doc.kind}`);
      assert.ok(doc.metadata?.name, `${file}: metadata.name`);
      assert.doesNotThrow(() => new Model(doc as never).validate(), `${file} (${doc.kind})`);
    }
  });

  test("the schema check does catch a mistake (a port as a string)", () => {
    const broken = structuredClone(deployment);
    const port = broken.spec?.template.spec?.containers[0]?.ports?.[0];
    assert.ok(port !== undefined);
    (port as { containerPort: unknown }).containerPort = "8080";
    assert.throws(() => new Deployment(broken).validate(), /containerPort/);
  });

  test("kustomization.yaml lists every other manifest", () => {
    const kustomization = manifests.find((m) => m.doc.kind === "Kustomization");
    assert.ok(kustomization !== undefined);
    const listed = [...((kustomization.doc as { resources?: string[] }).resources ?? [])].sort();
    const files = [...new Set(manifests.filter((m) => m.doc.kind !== "Kustomization").map((m) => m.file))];
    assert.deepEqual(listed, files.sort());
  });

  test("the container runs `serve --config /etc/llamawrapper/config.yaml --watch`, the ConfigMap mounted as a folder", () => {
    const cli = parseCli(gateway.args ?? []);
    assert.equal(cli.command, "serve");
    assert.equal(cli.config, CONFIG_PATH);
    assert.equal(cli.watch, true);
    const mount = gateway.volumeMounts?.find((m) => m.mountPath === "/etc/llamawrapper");
    assert.ok(mount !== undefined, "the config folder is mounted");
    assert.equal(mount.subPath, undefined, "a subPath mount never sees ConfigMap updates");
    const volume = pod?.volumes?.find((v) => v.name === mount.name);
    assert.equal(volume?.configMap?.name, configMap.metadata?.name);
  });

  test("probes: startup, readiness and liveness all GET /health on the port the gateway listens on", () => {
    const config = gatewayConfig();
    const probes: Record<string, IProbe | undefined> = {
      startupProbe: gateway.startupProbe,
      readinessProbe: gateway.readinessProbe,
      livenessProbe: gateway.livenessProbe,
    };
    for (const [name, probe] of Object.entries(probes)) {
      assert.equal(probe?.httpGet?.path, "/health", `${name} asks /health`);
      assert.equal(containerPort(probe?.httpGet?.port), config.server.port, `${name} on server.port`);
    }
    assert.equal(config.server.host, "0.0.0.0", "the kubelet probes the pod's address, not loopback");
    assert.equal(config.server.allowedHosts.length, 0, "with allowedHosts, probes by IP would get 403");
  });

  test("stop: a preStop while endpoints go, then a grace period longer than the drain and the children's stop", () => {
    const preStop = gateway.lifecycle?.preStop;
    assert.ok(preStop !== undefined, "preStop is set");
    const sleepSeconds = preStop.sleep?.seconds ?? Number(preStop.exec?.command?.at(-1) ?? Number.NaN);
    assert.ok(sleepSeconds >= 5, `the preStop waits for endpoints to go (${sleepSeconds} s)`);
    const config = gatewayConfig();
    const stopMs = Math.max(...Object.values(config.models).map((m) => m.stopTimeoutMs));
    const needMs =
      sleepSeconds * 1000 +
      config.server.shutdownTimeoutMs +
      CUT_GRACE_MS +
      config.kvCache.saveTimeoutMs +
      stopMs;
    const grace = pod?.terminationGracePeriodSeconds ?? 30;
    assert.ok(grace > 30, "longer than the default 30 s");
    assert.ok(grace * 1000 > needMs, `terminationGracePeriodSeconds ${grace} s must exceed ${needMs} ms`);
    assert.equal(
      deployment.spec?.strategy?.rollingUpdate?.maxUnavailable,
      0,
      "a rollout drains one pod at a time",
    );
  });

  test("selectors: the Deployment's, the Service's and the PDB's all select the pod template's labels", () => {
    assert.ok(selects(deployment.spec?.selector.matchLabels, podLabels), "Deployment");
    assert.ok(selects(service.spec?.selector, podLabels), "Service");
    assert.ok(selects(pdb.spec?.selector?.matchLabels, podLabels), "PodDisruptionBudget");
    for (const port of service.spec?.ports ?? []) {
      assert.equal(containerPort(port.targetPort), gatewayConfig().server.port, "the Service's targetPort");
    }
  });

  test("security: non-root, read-only root file system, the cache folder on an emptyDir, models read-only", () => {
    assert.equal(pod?.securityContext?.runAsNonRoot, true);
    assert.equal(typeof pod?.securityContext?.runAsUser, "number", "numeric, so the kubelet can check it");
    assert.equal(gateway.securityContext?.readOnlyRootFilesystem, true);
    assert.equal(gateway.securityContext?.allowPrivilegeEscalation, false);
    assert.deepEqual(gateway.securityContext?.capabilities?.drop, ["ALL"]);
    const cache = containerEnv().LLAMAWRAPPER_CACHE;
    const cacheMount = gateway.volumeMounts?.find((m) => m.mountPath === cache);
    assert.ok(cacheMount !== undefined, "LLAMAWRAPPER_CACHE is a mounted folder");
    assert.ok(pod?.volumes?.find((v) => v.name === cacheMount.name)?.emptyDir !== undefined);
    const config = gatewayConfig();
    const modelsMount = gateway.volumeMounts?.find((m) => m.mountPath === config.discovery.dir);
    assert.ok(modelsMount !== undefined, "discovery.dir is the models volume");
    assert.equal(modelsMount.readOnly, true);
    const models = pod?.volumes?.find((v) => v.name === modelsMount.name);
    assert.equal(models?.persistentVolumeClaim?.claimName, claim.metadata?.name);
    assert.ok(
      gateway.resources?.requests?.memory !== undefined && gateway.resources.limits?.memory !== undefined,
    );
  });

  describe("the ConfigMap's config", () => {
    const dir = mkdtempSync(join(tmpdir(), "llamawrapper-k8s-"));
    after(() => rmSync(dir, { recursive: true, force: true }));

    test("every ${env:NAME} it reads (outside comments) is set in the container", () => {
      const live = configText
        .split("\n")
        .filter((line) => !line.trim().startsWith("#"))
        .join("\n");
      const names = [...live.matchAll(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]);
      assert.ok(names.length > 0, "the keys come from the environment");
      for (const name of names) assert.ok(name !== undefined && name in containerEnv(), `${name} is set`);
    });

    test("`llamawrapper check` accepts it, with discovery.dir pointed at a folder holding one model", async () => {
      // /models exists only in the pod: the one change is where the model folder is.
      const models = join(dir, "models");
      mkdirSync(models);
      await writeGguf(join(models, "chat.gguf"), {
        metadata: [
          ["general.architecture", { type: "string", value: "llama" }],
          ["llama.context_length", { type: "uint32", value: 4096 }],
          ["tokenizer.chat_template", { type: "string", value: "{{ messages }}" }],
        ],
        tensors: [{ name: "token_embd.weight", dims: [4], type: "F32", data: () => [new Float32Array(4)] }],
      });
      const document = parseDocument(configText);
      assert.equal(document.getIn(["discovery", "dir"]), "/models");
      document.setIn(["discovery", "dir"], models);
      const path = join(dir, "config.yaml");
      writeFileSync(path, document.toString());
      const run = spawnSync(process.execPath, ["--import", "tsx", BIN, "check", "--config", path], {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 30_000,
        env: { ...process.env, ...containerEnv() },
      });
      assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
      assert.match(run.stdout, /ok \(1 model: chat\)/);
    });
  });

  describe("--watch and a ConfigMap update", () => {
    const dir = mkdtempSync(join(tmpdir(), "llamawrapper-configmap-"));
    after(() => rmSync(dir, { recursive: true, force: true }));

    /** The kubelet's layout: config.yaml → ..data/config.yaml, ..data → a timestamped folder. */
    function writeVersion(name: string, text: string): void {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, "config.yaml"), text);
      symlinkSync(name, join(dir, "..data_tmp"));
      renameSync(join(dir, "..data_tmp"), join(dir, "..data"));
    }

    test("a symlink swap that leaves config.yaml's own link untouched is seen within the deadline", async () => {
      writeVersion("..2025_01_01_00_00_00.1", configText);
      symlinkSync("..data/config.yaml", join(dir, "config.yaml"));
      const path = join(dir, "config.yaml");
      const probe = configState(path, () => null);
      const before = await probe();
      const link = await lstat(path);
      let changes = 0;
      const stop = watchFile(probe, before, 20, async () => {
        changes += 1;
      });
      try {
        writeVersion(
          "..2025_01_01_00_01_00.2",
          configText.replace("maxLoadedModels: 2", "maxLoadedModels: 1"),
        );
        rmSync(join(dir, "..2025_01_01_00_00_00.1"), { recursive: true });
        await waitFor(
          "--watch's probe to see the new ConfigMap version",
          () => (changes > 0 ? true : undefined),
          5_000,
        );
        const swapped = await lstat(path);
        assert.equal(swapped.ino, link.ino, "config.yaml itself is the same symlink: only ..data moved");
        assert.notEqual(await probe(), before);
      } finally {
        stop();
      }
    });
  });
});
