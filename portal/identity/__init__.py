"""Who is signed in: claims to Principal, roles and the policy registry, sessions ended by logging out."""
