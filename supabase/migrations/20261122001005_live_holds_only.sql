-- Edge API (issue 3), part 6: only a live hold converts into a booking. An expired hold that
-- nobody has taken yet used to convert without the schedule checks (notice, daily cap);
-- now it is cleared and the slot is booked through the normal path. Otherwise private.book
-- (20261122001001) is unchanged.

-- The booking itself (no idempotency): converts the caller's hold, or takes a free slot.
create or replace function private.book(p_request jsonb) returns jsonb
  language plpgsql
  set search_path = ''
  as $$
declare
  v_t private.booking_target := private.booking_target(p_request);
  v_hold_id uuid := (p_request ->> 'hold_id')::uuid;
  v_end timestamptz;
  v_row public.appointments;
begin
  if v_hold_id is not null then
    select * into v_row from public.appointments
    where id = v_hold_id and status = 'held' and hold_expires_at > now() for update;
    if found then
      if v_row.patient_id <> v_t.patient_id or v_row.doctor_id <> v_t.doctor_id
         or lower(v_row.period) <> v_t.starts then
        perform private.raise_api(422, 'hold_mismatch',
          'The hold is for another patient, doctor or time');
      end if;
      update public.appointments
      set status = 'scheduled', visit_reason = p_request ->> 'visit_reason'
      where id = v_hold_id
      returning * into v_row;
      return private.appointment_json(v_row);
    end if;
    -- No live hold (expired, released or taken back): book the slot like any other — all
    -- checks again, and the expired hold itself is cleared by private.free_for.
  end if;
  v_end := private.check_slot(v_t.doctor_id, v_t.starts);
  if not private.free_for(v_t.doctor_id, tstzrange(v_t.starts, v_end)) then
    perform private.raise_api(409, 'slot_unavailable', 'That time slot is no longer available');
  end if;
  insert into public.appointments (clinic_id, patient_id, doctor_id, period, status,
    visit_reason, booked_by, source)
  values (v_t.clinic_id, v_t.patient_id, v_t.doctor_id, tstzrange(v_t.starts, v_end),
    'scheduled', p_request ->> 'visit_reason', auth.uid(),
    coalesce(p_request ->> 'source', 'web'))
  returning * into v_row;
  return private.appointment_json(v_row);
end
$$;
