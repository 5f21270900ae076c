/**
 * A page's checkpoint statement sent in one script with its COPY and COMMIT (issue 16: one round trip
 * a page) cannot hand a row count back for the caller to check the owner with: it calls this instead,
 * which raises (SQLSTATE TMOWN) when the fenced checkpoint update found no row, so the script stops
 * before its COMMIT and the page rolls back (LostOwnershipError, as with the row-returning form).
 */
export default `
CREATE FUNCTION tidemark.require_slot_owner(owned_rows bigint, integration text, slot text, run_id text) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF owned_rows = 1 THEN RETURN true; END IF;
  RAISE EXCEPTION 'checkpoint %/% is no longer owned by run %', integration, slot, run_id USING ERRCODE = 'TMOWN';
END $$;
`;
