/**
 * The authorization directory: the database state that the RLS helper functions read,
 * mirrored in memory and kept current from the replication stream (in commit order):
 *
 * - `private.clinic_ids_with(roles)` ← `clinic_members` (user_id, clinic_id, role, revoked_at)
 * - `private.my_patient_ids()`       ← `patients` (id, user_id, deleted_at)
 * - `private.my_dependant_ids()`     ← `guardianships` (id, guardian_id, patient_id) and
 *                                      `patients` (deleted_at)
 * - `private.board_clinic_id()`      ← `board_tokens` (id, clinic_id, revoked_at, expires_at)
 */
import type { Sql } from "postgres";
import type { Claims } from "../auth/claims.ts";
import type { Change, Row } from "../changes/types.ts";

/** private.staff_roles(), mirrored (tests/realtime/db_rules_test.ts checks it). */
export const STAFF_ROLES: ReadonlySet<string> = new Set(["doctor", "nurse", "staff", "admin"]);
export const DIRECTORY_TABLES = new Set([
  "public.clinic_members",
  "public.patients",
  "public.board_tokens",
  "public.guardianships",
]);

interface Membership {
  user: string;
  clinic: string;
  role: string;
  active: boolean;
}

interface Patient {
  user: string | null;
  active: boolean;
}

interface Guardianship {
  guardian: string;
  patient: string;
}

interface Board {
  clinic: string;
  revoked: boolean;
  expiresAt: number | null;
}

interface UserView {
  staff: string[];
  member: string[];
  /** Their own live patient records and their dependants' (who the patient policies name). */
  patients: string[];
  staffKey: string;
  memberKey: string;
  patientKey: string;
}

export interface Directory {
  load(sql: Sql): Promise<void>;
  /** Applies a change of a directory table (others are ignored). */
  apply(change: Change): void;
  /** Sorted ids and their joined keys for a user (empty when unknown). */
  view(uid: string): UserView;
  /** The clinic of a live board token presented by these claims, or null. */
  boardClinic(claims: Claims): string | null;
  /**
   * A version that changes with every change of the directory and whenever a board token
   * expires: equal stamps mean equal answers from `view` and `boardClinic`.
   */
  stamp(): number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const uids = new WeakMap<Claims, string | null>();

/** `auth.uid()` for claims: the subject when it is a uuid. */
export function uidOf(claims: Claims): string | null {
  let uid = uids.get(claims);
  if (uid === undefined) {
    uid = typeof claims.sub === "string" && UUID.test(claims.sub) ? claims.sub.toLowerCase() : null;
    uids.set(claims, uid);
  }
  return uid;
}

export function createDirectory(): Directory {
  const members = new Map<string, Membership>();
  const patients = new Map<string, Patient>();
  const boards = new Map<string, Board>();
  const guardianships = new Map<string, Guardianship>();
  const guardiansOf = new Map<string, Set<string>>(); // patient → guardianship ids
  const wardsOf = new Map<string, Set<string>>(); // guardian → guardianship ids
  const byUser = new Map<string, Set<string>>(); // user → membership ids
  const patientsByUser = new Map<string, Set<string>>();
  const views = new Map<string, UserView>();
  let version = 0;
  let nextExpiry = Infinity; // earliest board expiry still ahead

  function noteExpiry(b: Board): void {
    if (b.expiresAt !== null && b.expiresAt > Date.now() && b.expiresAt < nextExpiry) {
      nextExpiry = b.expiresAt;
    }
  }
  const empty: UserView = {
    staff: [],
    member: [],
    patients: [],
    staffKey: "",
    memberKey: "",
    patientKey: "",
  };

  function index(map: Map<string, Set<string>>, user: string | null, id: string, add: boolean) {
    if (!user) return;
    let set = map.get(user);
    if (add) {
      if (!set) map.set(user, set = new Set());
      set.add(id);
    } else if (set) {
      set.delete(id);
      if (set.size === 0) map.delete(user);
    }
    views.delete(user);
  }

  function putMember(id: string, m: Membership | undefined): void {
    const previous = members.get(id);
    if (previous) index(byUser, previous.user, id, false);
    if (m) {
      members.set(id, m);
      index(byUser, m.user, id, true);
    } else members.delete(id);
  }

  function putPatient(id: string, p: Patient | undefined): void {
    const previous = patients.get(id);
    if (previous) index(patientsByUser, previous.user, id, false);
    if (p) {
      patients.set(id, p);
      index(patientsByUser, p.user, id, true);
    } else patients.delete(id);
    // A dependant's record going away (or back) changes what their guardians see.
    for (const g of guardiansOf.get(id) ?? []) views.delete(guardianships.get(g)!.guardian);
  }

  function putGuardianship(id: string, g: Guardianship | undefined): void {
    const previous = guardianships.get(id);
    if (previous) {
      index(wardsOf, previous.guardian, id, false);
      index(guardiansOf, previous.patient, id, false);
    }
    if (g) {
      guardianships.set(id, g);
      index(wardsOf, g.guardian, id, true);
      index(guardiansOf, g.patient, id, true);
    } else guardianships.delete(id);
  }

  const str = (v: unknown) => (typeof v === "string" ? v.toLowerCase() : null);
  const membership = (r: Row): Membership => ({
    user: str(r.user_id)!,
    clinic: str(r.clinic_id)!,
    role: String(r.role),
    active: r.revoked_at === null || r.revoked_at === undefined,
  });
  const patient = (r: Row): Patient => ({
    user: str(r.user_id),
    active: r.deleted_at === null || r.deleted_at === undefined,
  });
  const guardianship = (r: Row): Guardianship => ({
    guardian: str(r.guardian_id)!,
    patient: str(r.patient_id)!,
  });
  const board = (r: Row): Board => ({
    clinic: str(r.clinic_id)!,
    revoked: r.revoked_at !== null && r.revoked_at !== undefined,
    expiresAt: typeof r.expires_at === "string" ? Date.parse(r.expires_at) : null,
  });

  return {
    async load(sql) {
      const m = await sql<Row[]>`
        select id::text, user_id::text, clinic_id::text, role::text, revoked_at::text
        from public.clinic_members`;
      for (const r of m) putMember(String(r.id), membership(r));
      const p = await sql<Row[]>`
        select id::text, user_id::text, deleted_at::text from public.patients`;
      for (const r of p) putPatient(String(r.id), patient(r));
      const g = await sql<Row[]>`
        select id::text, guardian_id::text, patient_id::text from public.guardianships`;
      for (const r of g) putGuardianship(String(r.id), guardianship(r));
      const b = await sql<Row[]>`
        select id::text, clinic_id::text, revoked_at::text,
               to_char(expires_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as expires_at
        from public.board_tokens`;
      for (const r of b) {
        const entry = board(r);
        boards.set(String(r.id).toLowerCase(), entry);
        noteExpiry(entry);
      }
      version++;
    },
    apply(change) {
      const name = `${change.schema}.${change.table}`;
      if (!DIRECTORY_TABLES.has(name)) return;
      const row = change.type === "DELETE" ? change.old_record : change.record;
      if (!row) return;
      const id = String(row.id).toLowerCase();
      const remove = change.type === "DELETE";
      if (name === "public.clinic_members") putMember(id, remove ? undefined : membership(row));
      else if (name === "public.patients") putPatient(id, remove ? undefined : patient(row));
      else if (name === "public.guardianships") {
        putGuardianship(id, remove ? undefined : guardianship(row));
      } else if (remove) boards.delete(id);
      else {
        const entry = board(row);
        boards.set(id, entry);
        noteExpiry(entry);
      }
      version++;
    },
    stamp() {
      const now = Date.now();
      if (now >= nextExpiry) {
        version++;
        nextExpiry = Infinity;
        for (const b of boards.values()) {
          if (b.expiresAt !== null && b.expiresAt > now) noteExpiry(b);
        }
      }
      return version;
    },
    view(uid) {
      const cached = views.get(uid);
      if (cached) return cached;
      const staff = new Set<string>();
      const member = new Set<string>();
      for (const id of byUser.get(uid) ?? []) {
        const m = members.get(id)!;
        if (!m.active) continue;
        member.add(m.clinic);
        if (STAFF_ROLES.has(m.role)) staff.add(m.clinic);
      }
      const mine: string[] = [];
      for (const id of patientsByUser.get(uid) ?? []) if (patients.get(id)!.active) mine.push(id);
      for (const id of wardsOf.get(uid) ?? []) {
        const ward = guardianships.get(id)!.patient;
        if (patients.get(ward)?.active && !mine.includes(ward)) mine.push(ward);
      }
      if (staff.size === 0 && member.size === 0 && mine.length === 0) return empty;
      const v: UserView = {
        staff: [...staff].sort(),
        member: [...member].sort(),
        patients: mine.sort(),
        staffKey: "",
        memberKey: "",
        patientKey: "",
      };
      v.staffKey = v.staff.join(",");
      v.memberKey = v.member.join(",");
      v.patientKey = v.patients.join(",");
      views.set(uid, v);
      return v;
    },
    boardClinic(claims) {
      if (claims.app_metadata?.board !== true) return null;
      const uid = uidOf(claims);
      const claimed = str(claims.app_metadata?.clinic_id);
      if (!uid || !claimed) return null;
      const b = boards.get(uid);
      if (!b || b.revoked || b.clinic !== claimed) return null;
      if (b.expiresAt !== null && b.expiresAt <= Date.now()) return null;
      return b.clinic;
    },
  };
}
