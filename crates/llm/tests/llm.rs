//! Integration tests against the built-in model and the reference outputs of llama.cpp and
//! PyTorch + PEFT in `shared/reference/smollm2/`. Modules mirror `src/`.

mod common;

mod llm {
    mod engine;
    mod generate;
    mod gguf;
    mod hub;
    mod lora;
    mod model;
    mod template;
    mod tokenizer;
}
