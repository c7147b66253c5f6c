//! Naming rules: pack names, OCI tags, repository paths, registry hosts.

/// The repository folder every pack lives under, as Palette expects in custom OCI registries.
pub const PACK_NAMESPACE: &str = "spectro-packs/archive";

/// The repository of a pack under a base path (`""` for none).
pub fn pack_repository(base: &str, name: &str) -> String {
    let base = base.trim_matches('/');
    if base.is_empty() {
        format!("{PACK_NAMESPACE}/{name}")
    } else {
        format!("{base}/{PACK_NAMESPACE}/{name}")
    }
}

/// Whether `tag` is a valid OCI tag: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn is_valid_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    first_ok
        && tag.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// The host part of a registry server, normalised once so that every comparison (credentials,
/// TLS folders, where credentials may go) agrees: lowercase, as DNS names and the Docker
/// config keys are compared.
pub fn normalize_host(host: &str) -> String {
    host.to_ascii_lowercase()
}

/// Whether `name` is usable as one OCI repository path component.
pub fn is_valid_name(name: &str) -> bool {
    // [a-z0-9]+([._-][a-z0-9]+)*
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !name.is_empty()
        && name
            .split(['.', '_', '-'])
            .all(|part| !part.is_empty() && part.chars().all(alnum))
}

/// A name that passes [`is_valid_name`], derived from one that does not.
pub fn suggest_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        let after_separator = out.is_empty() || out.ends_with(['.', '_', '-']);
        if c.is_ascii_lowercase() || c.is_ascii_digit() || (c.is_ascii() && !after_separator) {
            // Keep `.`, `_` and `-`; turn anything else into `-`.
            out.push(
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '-'
                },
            );
        } else if !after_separator {
            out.push('-');
        }
    }
    out.trim_end_matches(['.', '_', '-']).to_string()
}

/// Checks a registry host: DNS labels of letters, digits and `-` (or a bracketed IPv6
/// address), and an optional port; the error names what is wrong.
pub fn check_host(host: &str) -> Result<(), String> {
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if !name.ends_with(']') || host.starts_with('[') => (name, Some(port)),
        _ => (host, None),
    };
    let name_ok = if let Some(inner) = name.strip_prefix('[') {
        inner
            .strip_suffix(']')
            .is_some_and(|a| a.parse::<std::net::Ipv6Addr>().is_ok())
    } else {
        !name.is_empty()
            && name.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.parse::<u16>().is_ok());
    if name_ok && port_ok {
        Ok(())
    } else {
        Err(format!("`{host}` is not a registry host"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["prometheus", "a", "kube-prometheus-stack", "a.b_c-d", "x1"] {
            assert!(is_valid_name(ok), "{ok}");
        }
        for bad in ["", "Prom", "a--b", "-a", "a-", "a b", "a/b", "a__b", "é"] {
            assert!(!is_valid_name(bad), "{bad}");
        }
        assert_eq!(suggest_name("My Pack!"), "my-pack");
        assert_eq!(suggest_name("Prom__etheus"), "prom_etheus");
        assert!(is_valid_name(&suggest_name("  Weird -- Name ")));
    }

    #[test]
    fn tags() {
        for ok in ["1.0.0", "1.2.0_build.7", "_x", "A-b.c"] {
            assert!(is_valid_tag(ok), "{ok}");
        }
        for bad in ["", ".x", "-x", "1.0.0+b", "a/b", &"x".repeat(129)] {
            assert!(!is_valid_tag(bad), "{bad}");
        }
    }
}
