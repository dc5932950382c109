//! A valid component that implements some other world than Strait's plugin worlds.

// The generated bindings of a world that is not Strait's need `unsafe` (the SDK hides it for
// real plugins); this test plugin exists to be refused for exporting the wrong world.
#![allow(unsafe_code)]

wit_bindgen::generate!({ path: "wit", world: "other" });

struct Greeter;

impl exports::test::other::greeter::Guest for Greeter {
    fn greet(name: String) -> String {
        format!("hello {name}")
    }
}

export!(Greeter);
