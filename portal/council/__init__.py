"""The works council's figures (aggregates under the privacy model, releases) and exposure (grants, findings)."""
