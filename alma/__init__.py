"""ALMA: Augmented Lagrangian adversarial attacks (Rony et al., ICCV 2021), fast and instrumented."""
