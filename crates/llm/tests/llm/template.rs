use crate::common;

#[test]
fn gguf_template_renders_byte_equal_to_jinja2() {
    let model = common::q4_1();
    let reference = common::reference("llamacpp_q4_1.json");
    for case in reference["cases"].as_array().expect("cases") {
        let rendered = model
            .template
            .render(&common::messages(&case["messages"]), true)
            .expect("render");
        assert_eq!(rendered, case["rendered"].as_str().expect("rendered"));
    }
    let peft = common::reference("peft/reference.json");
    let full = model
        .template
        .render(&common::messages(&peft["conversation"]), false)
        .expect("render");
    assert_eq!(full, peft["full"].as_str().expect("full"));
}
