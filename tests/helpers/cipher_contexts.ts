/**
 * The node:crypto cipher contexts open in this process. Deno keeps each in its resource table until the
 * cipher's final() takes it out, and only Deno's internals list that table: apart from RSS, the one
 * place a cipher that was never finalized shows.
 */
export function openCipherContexts(): number {
  const deno = Deno as unknown as Record<symbol, { core: { resources(): Record<string, string> } }>;
  const { core } = deno[(Deno as unknown as { internal: symbol }).internal];
  return Object.values(core.resources()).filter((name) => name.startsWith("crypto")).length;
}
