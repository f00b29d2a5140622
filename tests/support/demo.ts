/** The demo data's fixed ids (supabase/seed.sql), shared by every test suite. */

export const CLINIC_A = "11111111-1111-4111-8111-111111111111"; // GFC-TP, Asia/Singapore
export const CLINIC_B = "22222222-2222-4222-8222-222222222222"; // GFC-BD

/** Demo users, plus `patientTay`, whom tests/db's `addFixtures` adds to clinic A. */
export const USERS = {
  admin: "a0000000-0000-4000-8000-000000000001",
  doctorTan: "a0000000-0000-4000-8000-000000000002",
  patientLim: "a0000000-0000-4000-8000-000000000003",
  nurseOng: "a0000000-0000-4000-8000-000000000004",
  staffKoh: "a0000000-0000-4000-8000-000000000005",
  doctorLee: "a0000000-0000-4000-8000-000000000006",
  patientTay: "a0000000-0000-4000-8000-000000000007",
  adminBedok: "b0000000-0000-4000-8000-000000000001",
  doctorNg: "b0000000-0000-4000-8000-000000000002",
  patientChan: "b0000000-0000-4000-8000-000000000003",
} as const;

export const DOCTORS = {
  tan: "d0000000-0000-4000-8000-000000000001",
  lee: "d0000000-0000-4000-8000-000000000002",
  ng: "d0000000-0000-4000-8000-000000000003",
} as const;

/** Demo patients, plus `tay` (tests/db's `addFixtures`). */
export const PATIENTS = {
  lim: "e0000000-0000-4000-8000-000000000001",
  chan: "e0000000-0000-4000-8000-000000000002",
  tay: "e0000000-0000-4000-8000-000000000003",
} as const;
