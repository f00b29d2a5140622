/** Crash tests: run a script in a child process and SIGKILL it mid-work. */

/**
 * Runs `script` with `args` (and deno.json's config), reads its stdout until `marker` appears
 * (within `timeoutMs`), then kills it with SIGKILL and waits for it to end.
 */
export async function killWhenPrinted(
  script: URL,
  args: string[],
  marker: string,
  timeoutMs = 30_000,
): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      new URL("../../deno.json", import.meta.url).pathname,
      script.pathname,
      ...args,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  try {
    const deadline = Date.now() + timeoutMs;
    while (!out.includes(marker)) {
      if (Date.now() > deadline) throw new Error(`never printed ${marker}: ${out}`);
      const { value, done } = await reader.read();
      if (done) throw new Error(`exited early: ${out}`);
      out += value;
    }
  } finally {
    child.kill("SIGKILL");
    await reader.cancel();
    await child.status;
  }
}
