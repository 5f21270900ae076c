/**
 * Instances of templates (src/instances): one row per customer, created and removed at run time. Kept in
 * the template's sink database, next to the instance's checkpoints and runs. Secrets are references to the
 * worker's environment ({"env": NAME}) or AES-256-GCM ciphertext ({"encrypted": base64, "keyId": …}) under
 * TIDEMARK_ENCRYPTION_KEY: never plain text.
 */
export default `
CREATE TABLE tidemark.instances (
  template text NOT NULL,
  instance_id text NOT NULL,
  params jsonb NOT NULL DEFAULT '{}',
  secrets jsonb NOT NULL DEFAULT '{}',
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'needs_reauth')),
  -- why an instance is paused or needs re-authorization, for people
  reason text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (template, instance_id)
);
`;
