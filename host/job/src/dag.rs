//! The job's DAG: which plugin reads from which (`plugin_input` / `plugin_output`, and
//! SeaTunnel's older `source_table_name` / `result_table_name`), and its pipelines.

use std::collections::HashMap;

use st_core::PluginKind;

use crate::{ConfigError, JobConfig, PluginConfig, scan};

pub(crate) fn resolve_inputs(
    plugins: &[PluginConfig],
    file: &str,
    errors: &mut Vec<ConfigError>,
    warnings: &mut Vec<String>,
) -> Vec<Vec<usize>> {
    let mut outputs: HashMap<&str, usize> = HashMap::new();
    for (i, p) in plugins.iter().enumerate() {
        if p.kind == PluginKind::Sink {
            continue;
        }
        if let Some(name) = &p.output
            && let Some(prev) = outputs.insert(name.as_str(), i)
        {
            errors.push(ConfigError {
                file: file.into(),
                line: Some(p.line),
                col: None,
                path: p.path(),
                message: format!(
                    "plugin_output `{name}` is already the output of {}",
                    plugins[prev].path()
                ),
            });
        }
    }
    let sources: Vec<usize> = (0..plugins.len())
        .filter(|i| plugins[*i].kind == PluginKind::Source)
        .collect();
    let mut inputs = vec![Vec::new(); plugins.len()];
    let mut last_transform: Option<usize> = None;
    for (i, p) in plugins.iter().enumerate() {
        match p.kind {
            PluginKind::Source => {
                if !p.input.is_empty() {
                    warnings.push(format!(
                        "{file}:{}: {}: a source reads no input; plugin_input is ignored",
                        p.line,
                        p.path()
                    ));
                }
            }
            PluginKind::Transform | PluginKind::Sink => {
                if p.input.is_empty() {
                    inputs[i] = match (p.kind, last_transform) {
                        (PluginKind::Transform, Some(t)) | (PluginKind::Sink, Some(t)) => vec![t],
                        _ => sources.clone(),
                    };
                } else {
                    for name in &p.input {
                        match outputs.get(name.as_str()) {
                            Some(j) if *j == i => errors.push(ConfigError {
                                file: file.into(),
                                line: Some(p.line),
                                col: None,
                                path: format!("{}.plugin_input", p.path()),
                                message: format!("`{name}` is this plugin's own output"),
                            }),
                            Some(j) => inputs[i].push(*j),
                            None => {
                                let mut known: Vec<&str> = outputs.keys().copied().collect();
                                known.sort_unstable();
                                errors.push(ConfigError {
                                    file: file.into(),
                                    line: Some(p.line),
                                    col: None,
                                    path: format!("{}.plugin_input", p.path()),
                                    message: format!(
                                        "`{name}` is not the plugin_output of any source or transform (declared outputs: {})",
                                        if known.is_empty() { "none".to_string() } else { known.join(", ") }
                                    ),
                                });
                            }
                        }
                    }
                }
                if p.kind == PluginKind::Transform {
                    last_transform = Some(i);
                }
            }
        }
    }
    // Cycles can only run through transforms.
    let mut state = vec![0u8; plugins.len()];
    fn visit(
        i: usize,
        inputs: &[Vec<usize>],
        state: &mut [u8],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        match state[i] {
            2 => return None,
            1 => {
                let from = stack.iter().position(|s| *s == i).unwrap_or(0);
                return Some(stack[from..].to_vec());
            }
            _ => {}
        }
        state[i] = 1;
        stack.push(i);
        for &j in &inputs[i] {
            if let Some(cycle) = visit(j, inputs, state, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        state[i] = 2;
        None
    }
    for i in 0..plugins.len() {
        if let Some(cycle) = visit(i, &inputs, &mut state, &mut Vec::new()) {
            let names: Vec<String> = cycle.iter().map(|c| plugins[*c].path()).collect();
            errors.push(ConfigError {
                file: file.into(),
                line: Some(plugins[cycle[0]].line),
                col: None,
                path: plugins[cycle[0]].path(),
                message: format!(
                    "plugin_input forms a cycle: {} -> {}",
                    names.join(" -> "),
                    names[0]
                ),
            });
            break;
        }
    }
    inputs
}

impl JobConfig {
    /// The line where an option path is written inside a plugin's block.
    pub fn line_of(&self, plugin: usize, path: &[String]) -> usize {
        let p = &self.plugins[plugin];
        if p.body.len() >= self.text.len() {
            return p.line;
        }
        scan::locate(&self.text, p.body.clone(), path)
    }

    /// Groups plugins into pipelines: the connected parts of the DAG, each in plugin order.
    pub fn pipelines(&self) -> Vec<Vec<usize>> {
        let n = self.plugins.len();
        let mut parent: Vec<usize> = (0..n).collect();
        fn find(p: &mut [usize], i: usize) -> usize {
            let mut r = i;
            while p[r] != r {
                r = p[r];
            }
            p[i] = r;
            r
        }
        for (i, ins) in self.inputs.iter().enumerate() {
            for &j in ins {
                let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                parent[a] = b;
            }
        }
        let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
        for i in 0..n {
            let r = find(&mut parent, i);
            match groups.iter_mut().find(|(root, _)| *root == r) {
                Some((_, g)) => g.push(i),
                None => groups.push((r, vec![i])),
            }
        }
        groups.into_iter().map(|(_, g)| g).collect()
    }
}
