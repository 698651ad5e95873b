import type { ConfigProblem } from "../config/types.js";

/** What a reload did (SIGHUP, POST /admin/reload, --watch); the admin API answers it as is. */
export type ReloadOutcome =
  | {
      readonly ok: true;
      readonly generation: number;
      /** Nothing in the file changed: the running generation stays. */
      readonly unchanged: boolean;
      readonly added: readonly string[];
      readonly removed: readonly string[];
      /** Started with the new settings and took over (blue/green). */
      readonly replaced: readonly string[];
      /** Same children, new settings. */
      readonly reconfigured: readonly string[];
      /** Changed models whose new instances did not start: the old ones keep serving. */
      readonly keptOld: ReadonlyArray<{ readonly id: string; readonly reason: string }>;
      readonly sections: readonly string[];
      /** Settings that a running gateway cannot change (e.g. the listening port), kept as they were. */
      readonly needsRestart: readonly string[];
    }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };
