"""People who sign in to the pages: officers and admins of a buyer (and, with the portal,
contractors of a supplier), their sign-in links and their server-side sessions."""
