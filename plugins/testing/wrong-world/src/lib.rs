//! A valid component that implements some other world than Strait's plugin worlds.

wit_bindgen::generate!({ path: "wit", world: "other" });

struct Greeter;

impl exports::test::other::greeter::Guest for Greeter {
    fn greet(name: String) -> String {
        format!("hello {name}")
    }
}

export!(Greeter);
