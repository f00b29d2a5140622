/**
 * Private channels: the topic policy's grant each one holds (receive / send of broadcast and
 * presence), and its re-check whenever the policy's stamp moves — a membership, patient or
 * board-token change arriving through the replication feed, a board token expiring. A channel
 * whose claims may no longer receive what they could is ended at once (system error, then
 * phx_error: the client rejoins and is refused), as Supabase does when a refreshed token loses
 * read permission; one that may no longer track presence is untracked.
 */
import { canReceive, type TopicAccess, type TopicPolicy } from "../auth/channel_policy.ts";
import type { Claims } from "../auth/claims.ts";
import { describeError } from "../guard.ts";
import type { TopicMember, Topics } from "../topics.ts";

/** A decision and the policy stamp it was taken at. */
export interface Grant {
  access: TopicAccess;
  stamp: number;
}

/** What the rooms need of a joined private channel. */
export interface PrivateMember extends TopicMember {
  readonly subTopic: string;
  readonly claims: Claims;
  access: TopicAccess;
  isOpen(): boolean;
  fail(message: string): void;
}

export interface PrivateRooms {
  /** Replaces the policy (the database's, once connected). */
  use(policy: TopicPolicy): void;
  /** The claims' grant on a private topic; undefined when it cannot be checked now. */
  authorize(claims: Claims, subTopic: string): Promise<Grant | undefined>;
  /**
   * Gives a channel its grant for its current claims. A channel that loses a read permission
   * it had is ended; a grant older than the policy's stamp is re-checked at once.
   */
  hold(channel: PrivateMember, grant: Grant): void;
  release(channel: PrivateMember): void;
  /** Re-checks the channels whose grant predates the policy's stamp (cheap when none does). */
  revalidate(): void;
  /** Resolves once no re-check is running. */
  idle(): Promise<void>;
  readonly size: number;
}

export function createPrivateRooms(initial: TopicPolicy, topics: Topics): PrivateRooms {
  let policy = initial;
  const held = new Map<PrivateMember, number>(); // channel → stamp of its grant
  let checkedAt = -1; // stamp of the last completed pass
  let pending = false; // a grant is stale, or a re-check failed
  let again = false;
  let pass: Promise<void> | undefined;

  const stamp = () => policy.stamp?.() ?? 0;

  async function authorize(claims: Claims, subTopic: string): Promise<Grant | undefined> {
    const at = stamp();
    try {
      return { access: await policy.access(claims, subTopic), stamp: at };
    } catch (error) {
      console.error(`realtime: private channel check failed: ${describeError(error)}`);
      return undefined;
    }
  }

  function hold(channel: PrivateMember, grant: Grant): void {
    const before = channel.access;
    const { access } = grant;
    if (
      !canReceive(access) || (before.broadcast.read && !access.broadcast.read) ||
      (before.presence.read && !access.presence.read)
    ) {
      held.delete(channel);
      return channel.fail(
        `You no longer have permission to read from this Channel topic: ${channel.subTopic}`,
      );
    }
    if (!access.presence.write) topics.untrack(channel);
    channel.access = access;
    held.set(channel, grant.stamp);
    if (grant.stamp !== stamp()) {
      pending = true;
      revalidate();
    }
  }

  function revalidate(): void {
    if (!pending && checkedAt === stamp()) return;
    if (pass) {
      again = true;
      return;
    }
    pass = run().finally(() => pass = undefined);
  }

  async function run(): Promise<void> {
    do {
      again = false;
      pending = false;
      const now = stamp();
      let failed = false;
      const due = [...held].filter(([, at]) => at !== now).map(([channel]) => channel);
      await Promise.all(due.map(async (channel) => {
        const claims = channel.claims;
        const grant = await authorize(claims, channel.subTopic);
        // A token change meanwhile authorizes the new claims itself.
        if (!held.has(channel) || !channel.isOpen() || channel.claims !== claims) return;
        if (grant) hold(channel, grant);
        else failed = true;
      }));
      checkedAt = now;
      // A failed check is retried at the next trigger (the next transaction or sweep).
      if (failed) pending = true;
    } while (again);
  }

  return {
    use(next) {
      policy = next;
      checkedAt = -1;
    },
    authorize,
    hold,
    release: (channel) => void held.delete(channel),
    revalidate,
    idle: async () => {
      while (pass) await pass;
    },
    get size() {
      return held.size;
    },
  };
}
