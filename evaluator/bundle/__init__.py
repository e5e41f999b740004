"""Stage 1, reading a submission bundle: the archive (``archive``), the file names
(``names``), prediction and exit-layer files (``predictions``), declared costs
(``declared_costs``), a model definition's files (``model_files``), and the bundle as a whole
(``load``). Imports nothing from the later stages."""
