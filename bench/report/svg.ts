/** Escapes text for SVG/XML content and attributes. */
export function esc(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

export const COLORS: Record<string, string> = {
  direct: "#8c8c8c",
  nginx: "#2f9e44",
  "node floor": "#f59f00",
  gateway: "#1c7ed6",
  // The same gateway with its switchable features off: cyan, apart from the blues of scenario 5.
  "gateway (minimum)": "#1098ad",
  // Scenario 5's panel: the gateway going to the backend, and answering from its cache.
  "gateway miss": "#74c0fc",
  "gateway hit": "#7048e8",
};
