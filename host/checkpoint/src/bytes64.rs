//! Opaque plugin bytes as base64 text in the JSON that checkpoints are stored as.

/// `BTreeMap<String, Vec<Vec<u8>>>` as `{ "name": ["base64", ...] }`.
pub mod nested {
    use std::collections::BTreeMap;

    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(
        map: &BTreeMap<String, Vec<Vec<u8>>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let text: BTreeMap<&String, Vec<String>> = map
            .iter()
            .map(|(k, v)| (k, v.iter().map(|b| STANDARD.encode(b)).collect()))
            .collect();
        text.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, Vec<Vec<u8>>>, D::Error> {
        let text = BTreeMap::<String, Vec<String>>::deserialize(d)?;
        text.into_iter()
            .map(|(k, v)| {
                let bytes = v
                    .iter()
                    .map(|s| STANDARD.decode(s).map_err(serde::de::Error::custom))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((k, bytes))
            })
            .collect()
    }
}
