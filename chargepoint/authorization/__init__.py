"""Version-neutral authorization of id tokens: the local authorization list, the
authorization cache and the offline rules that OCPP 1.6 (sections 3.5.x) and 2.0.1 (blocks C
and D) share. Each protocol package converts its wire forms and its configuration
(``AuthSettings``) and keeps what only it has (1.6 LocalListConflict, 2.0.1 token types)."""
