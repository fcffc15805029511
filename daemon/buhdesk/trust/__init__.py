"""Who may do what: sender authentication, entitlement to answer, thread tokens, keys, flood
caps."""
