const FAKE = new URL("../fixtures/fake-llama-server.ts", import.meta.url).pathname;

/** The argv of the fake llama-server, for a `cmd:` config entry or a ChildSpec. */
export function fakeCmd(...flags: string[]): string[] {
  return [process.execPath, "--import", import.meta.resolve("tsx"), FAKE, "--port", "${PORT}", ...flags];
}
