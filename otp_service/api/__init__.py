"""HTTP layer: routes, schemas, auth and problem JSON. Talks to the domain only through OtpService."""
