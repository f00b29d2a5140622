/**
 * A chime synthesised with Web Audio (no audio files) and vibration. Browsers block audio
 * until a user gesture: `unlockAudio()` must run inside one (a click), once per page load.
 */

type AudioCtor = typeof AudioContext;
let ctx: AudioContext | null = null;

function audioCtor(): AudioCtor | undefined {
  const g = globalThis as unknown as { AudioContext?: AudioCtor; webkitAudioContext?: AudioCtor };
  return g.AudioContext ?? g.webkitAudioContext;
}

/** Creates/resumes the audio context; true when sound can play now. */
export async function unlockAudio(): Promise<boolean> {
  const Ctor = audioCtor();
  if (!Ctor) return false;
  try {
    ctx ??= new Ctor();
    if (ctx.state !== "running") await ctx.resume();
    return ctx.state === "running";
  } catch {
    return false;
  }
}

export function audioReady(): boolean {
  return ctx?.state === "running";
}

/** A soft two-note chime ("ding-dong"). */
export function chime(): void {
  if (!ctx || ctx.state !== "running") return;
  const t = ctx.currentTime;
  for (const [i, freq] of [659.25, 523.25].entries()) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    const start = t + i * 0.45;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.35, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + 1.1);
    osc.connect(gain).connect(ctx.destination);
    osc.start(start);
    osc.stop(start + 1.2);
  }
}

/** Vibrates where allowed (Android; ignored elsewhere). */
export function vibrate(pattern: number[] = [300, 120, 300, 120, 600]): void {
  try {
    navigator.vibrate?.(pattern);
  } catch {
    // Not allowed: ignore.
  }
}
