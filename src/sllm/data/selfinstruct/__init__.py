"""Self-Instruct (Wang et al., 2023): bootstrap instruction data from a small seed pool."""
