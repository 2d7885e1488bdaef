//! Integration tests against the built-in model, the PyTorch + PEFT reference in
//! `shared/reference/smollm2/peft/`, and a small random model for gradient checks. Modules mirror
//! `src/`.

mod common;

mod train {
    mod data;
    mod estimate;
    mod gguf;
    mod model;
    mod trainer;
}
