/**
 * In-process mirrors of the SELECT policies of the realtime tables (supabase/migrations).
 * Each rule names the part of the claims (resolved through the directory, as the RLS helper
 * functions do) that decides visibility, so subscribers with the same memberships share one
 * decision. `tests/realtime/db/clinic_rules_test.ts` checks every rule against PostgreSQL's own
 * evaluation of the policies; a table without a rule falls back to batched SQL.
 *
 * | table                 | authenticated                                    | anon (board)       |
 * |-----------------------|--------------------------------------------------|--------------------|
 * | appointments          | patient_id ∈ my patients ∨ clinic_id ∈ staff     | —                  |
 * | queue_tickets         | patient_id ∈ my patients ∨ clinic_id ∈ staff     | —                  |
 * | queue_board(_versions)| clinic_id ∈ member clinics                       | clinic_id = board  |
 * | notifications         | user_id = uid                                    | —                  |
 * | clinic_members        | user_id = uid ∨ clinic_id ∈ staff                | —                  |
 * | board_tokens          | clinic_id ∈ staff                                | —                  |
 * | availability_versions | every row                                        | every row          |
 *
 * "my patients" are private.my_patient_ids() and private.my_dependant_ids() (a guardian's
 * dependants), mirrored by the directory.
 * `service_role` bypasses RLS and sees every row. "staff" is private.staff_clinic_ids() (the
 * roles of private.staff_roles(), mirrored by the directory). docs/authorization.md lists every
 * rule and its copies.
 */
import type { Claims } from "../auth/claims.ts";
import type { TableRule } from "../fanout/authorizer.ts";
import type { Row } from "../changes/types.ts";
import { type Directory, uidOf } from "./directory.ts";

const lower = (v: unknown) => (typeof v === "string" ? v.toLowerCase() : "");

function authenticatedRule(
  key: (uid: string) => string,
  allows: (uid: string, row: Row) => boolean,
): TableRule {
  return {
    principal(claims: Claims) {
      if (claims.role === "service_role") return "service";
      if (claims.role !== "authenticated") return null;
      const uid = uidOf(claims);
      return uid ? key(uid) : null;
    },
    allows(claims, row) {
      if (claims.role === "service_role") return true;
      const uid = uidOf(claims);
      return uid !== null && claims.role === "authenticated" && allows(uid, row);
    },
  };
}

export function clinicRules(directory: Directory): Record<string, TableRule> {
  const patientOrStaff = authenticatedRule(
    (uid) => {
      const v = directory.view(uid);
      return `s=${v.staffKey};p=${v.patientKey}`;
    },
    (uid, row) => {
      const v = directory.view(uid);
      return v.patients.includes(lower(row.patient_id)) || v.staff.includes(lower(row.clinic_id));
    },
  );
  const board: TableRule = {
    principal(claims) {
      if (claims.role === "service_role") return "service";
      if (claims.role === "anon") {
        const clinic = directory.boardClinic(claims);
        return clinic ? `b=${clinic}` : null;
      }
      if (claims.role !== "authenticated") return null;
      const uid = uidOf(claims);
      return uid ? `m=${directory.view(uid).memberKey}` : null;
    },
    allows(claims, row) {
      if (claims.role === "service_role") return true;
      const clinic = lower(row.clinic_id);
      if (claims.role === "anon") return directory.boardClinic(claims) === clinic;
      const uid = uidOf(claims);
      return claims.role === "authenticated" && uid !== null &&
        directory.view(uid).member.includes(clinic);
    },
  };
  // PII-free (clinic, day, counter): the booking page's signal, for signed-in or not.
  const everyone: TableRule = {
    principal: (claims) =>
      claims.role === "service_role"
        ? "service"
        : claims.role === "anon" || claims.role === "authenticated"
        ? "all"
        : null,
    allows: () => true,
  };
  return {
    "public.appointments": patientOrStaff,
    "public.queue_tickets": patientOrStaff,
    "public.queue_board": board,
    "public.queue_board_versions": board,
    "public.notifications": authenticatedRule(
      (uid) => `u=${uid}`,
      (uid, row) => lower(row.user_id) === uid,
    ),
    "public.clinic_members": authenticatedRule(
      (uid) => `u=${uid};s=${directory.view(uid).staffKey}`,
      (uid, row) =>
        lower(row.user_id) === uid || directory.view(uid).staff.includes(lower(row.clinic_id)),
    ),
    "public.board_tokens": authenticatedRule(
      (uid) => `s=${directory.view(uid).staffKey}`,
      (uid, row) => directory.view(uid).staff.includes(lower(row.clinic_id)),
    ),
    "public.availability_versions": everyone,
  };
}
