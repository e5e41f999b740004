"""Stage 3, running models: the sandbox (``sandbox``) and what runs inside it
(``sandboxed``), the device models run on (``devices``), submitted model code
(``custom_code``), length-sorted batching (``batching``) and the points of a model the
platform runs (``model_points``)."""
