/**
 * Topics: which channels are joined to a topic, broadcast delivery between them, and
 * presence state (Phoenix Presence semantics: `{key: {metas: [{phx_ref, …}]}}`).
 */
import {
  encodeText,
  encodeUserBroadcast,
  fitsUserBroadcast,
  type Message,
  type Vsn,
} from "./protocol/serializer.ts";

/** What the topic hub needs from a joined channel. */
export interface TopicMember {
  readonly topic: string;
  /** Private and public channels of the same topic are separate rooms. */
  readonly private: boolean;
  readonly vsn: Vsn;
  /** Receives others' broadcasts only; `self` adds its own. */
  readonly self: boolean;
  /** False on a private channel whose claims may not receive broadcasts. */
  readonly receivesBroadcasts: boolean;
  readonly presenceEnabled: boolean;
  sendFrame(frame: string | Uint8Array): void;
}

export interface BroadcastMessage {
  event: string;
  payload: unknown;
  binary: boolean;
  meta?: Record<string, unknown>;
}

type Meta = Record<string, unknown> & { phx_ref: string };
type PresenceMap = Record<string, { metas: Meta[] }>;

interface Tracked {
  key: string;
  meta: Meta;
}

interface Topic {
  members: Set<TopicMember>;
  tracked: Map<TopicMember, Tracked>;
}

/** The room of a topic: private channels never hear public ones, nor the reverse. */
export function roomOf(topic: string, isPrivate: boolean): string {
  return `${isPrivate ? "private" : "public"}|${topic}`;
}

function room(member: TopicMember): string {
  return roomOf(member.topic, member.private);
}

export interface Topics {
  join(member: TopicMember): void;
  leave(member: TopicMember): void;
  /** Sends a broadcast to a room's members; returns how many received it. */
  broadcast(
    topic: string,
    isPrivate: boolean,
    message: BroadcastMessage,
    from?: TopicMember,
  ): number;
  /** The presence state of a member's room. */
  presenceState(member: TopicMember): PresenceMap;
  track(member: TopicMember, key: string, payload: Record<string, unknown>): void;
  untrack(member: TopicMember): void;
  readonly size: number;
}

export function createTopics(): Topics {
  const topics = new Map<string, Topic>();

  function topicOf(name: string): Topic {
    let t = topics.get(name);
    if (!t) topics.set(name, t = { members: new Set(), tracked: new Map() });
    return t;
  }

  function sendDiff(t: Topic, topic: string, joins: PresenceMap, leaves: PresenceMap): void {
    const message: Message = {
      joinRef: null,
      ref: null,
      topic,
      event: "presence_diff",
      payload: { joins, leaves },
    };
    const frames: Partial<Record<Vsn, string>> = {};
    for (const member of t.members) {
      if (!member.presenceEnabled) continue;
      const frame = frames[member.vsn] ??= encodeText(member.vsn, message);
      member.sendFrame(frame);
    }
  }

  function untrackIn(t: Topic, member: TopicMember): void {
    const tracked = t.tracked.get(member);
    if (!tracked) return;
    t.tracked.delete(member);
    sendDiff(t, member.topic, {}, { [tracked.key]: { metas: [tracked.meta] } });
  }

  return {
    join(member) {
      topicOf(room(member)).members.add(member);
    },
    leave(member) {
      const t = topics.get(room(member));
      if (!t) return;
      // Out of the room (it goes with its last member) before the others hear of it.
      t.members.delete(member);
      if (t.members.size === 0) topics.delete(room(member));
      untrackIn(t, member);
    },
    broadcast(name, isPrivate, message, from) {
      const t = topics.get(roomOf(name, isPrivate));
      if (!t) return 0;
      const cache = new Map<string, string | Uint8Array | null>();
      let count = 0;
      for (const member of t.members) {
        if ((member === from && !member.self) || !member.receivesBroadcasts) continue;
        const frame = broadcastFrame(name, message, member.vsn, cache);
        if (frame === null) continue;
        member.sendFrame(frame);
        count++;
      }
      return count;
    },
    presenceState(member) {
      const state: PresenceMap = {};
      for (const { key, meta } of topics.get(room(member))?.tracked.values() ?? []) {
        (state[key] ??= { metas: [] }).metas.push(meta);
      }
      return state;
    },
    track(member, key, payload) {
      const t = topicOf(room(member));
      const previous = t.tracked.get(member);
      const meta: Meta = { ...payload, phx_ref: crypto.randomUUID().slice(0, 13) };
      if (previous) meta.phx_ref_prev = previous.meta.phx_ref;
      t.tracked.set(member, { key, meta });
      const leaves = previous ? { [previous.key]: { metas: [previous.meta] } } : {};
      sendDiff(t, member.topic, { [key]: { metas: [meta] } }, leaves);
    },
    untrack(member) {
      const t = topics.get(room(member));
      if (t) untrackIn(t, member);
    },
    get size() {
      return topics.size;
    },
  };
}

/**
 * A broadcast frame for a protocol version, built once per broadcast and version:
 * binary-origin broadcasts go to vsn 2.0.0 sockets as kind 4 frames, JSON ones as text (as
 * do binary-origin ones whose topic or event is too long for a kind 4 header). Raw-byte
 * payloads cannot be expressed as text and are skipped where a kind 4 frame cannot go.
 */
function broadcastFrame(
  topic: string,
  message: BroadcastMessage,
  vsn: Vsn,
  cache: Map<string, string | Uint8Array | null>,
): string | Uint8Array | null {
  const hit = cache.get(vsn);
  if (hit !== undefined) return hit;
  let frame: string | Uint8Array | null;
  const rawBytes = message.payload instanceof Uint8Array;
  if (vsn === "2.0.0" && message.binary && fitsUserBroadcast(topic, message.event)) {
    frame = encodeUserBroadcast(topic, message.event, message.payload, rawBytes);
  } else if (rawBytes) {
    frame = null;
  } else {
    frame = encodeText(vsn, {
      joinRef: null,
      ref: null,
      topic,
      event: "broadcast",
      payload: {
        type: "broadcast",
        event: message.event,
        payload: message.payload,
        ...(message.meta ? { meta: message.meta } : {}),
      },
    });
  }
  cache.set(vsn, frame);
  return frame;
}
