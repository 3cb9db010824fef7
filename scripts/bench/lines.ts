/** Splits a text stream into trimmed, non-empty lines (the bench's process protocol is JSON lines). */
export function lines(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, controller) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const part of parts) if (part.trim()) controller.enqueue(part.trim());
    },
    flush(controller) {
      if (rest.trim()) controller.enqueue(rest.trim());
    },
  });
}
