//! The AWS settings an S3 client takes from where the AWS tools keep them:
//! the backend's attributes first, then the standard environment variables,
//! then the profile files (`~/.aws/credentials`, `~/.aws/config`), as the
//! AWS CLI and SDKs read them. Read when the backend is opened, which is on
//! a compile's first remote request, never on a local hit.
//!
//! Only static credentials: no SSO, `credential_process`, web identity or
//! instance metadata (each needs a request or a program before the first
//! entry; a fleet on EC2 puts a role's keys into the environment instead).

use super::BackendSpec;
use crate::files;
use std::path::PathBuf;

/// Static credentials and where they came from (for messages; never the
/// secret itself).
#[derive(Clone, Debug, PartialEq)]
pub struct Credentials {
    pub key: String,
    pub secret: String,
    pub token: Option<String>,
    pub source: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub region: String,
    /// `scheme://host[:port][/path]`, from the settings or AWS's for the region.
    pub endpoint: String,
    /// `None`: anonymous requests, unsigned.
    pub credentials: Option<Credentials>,
}

/// A process's environment, or a test's.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Reads the variable, empty counting as unset (as the AWS SDKs do).
fn var(env: Env, name: &str) -> Option<String> {
    env(name).filter(|v| !v.is_empty())
}

/// Resolves region, endpoint and credentials for `spec`.
pub fn resolve(spec: &BackendSpec, env: Env) -> Result<Settings, String> {
    let named_profile = spec.attr("profile").map(str::to_string);
    let profile_name = named_profile
        .clone()
        .or_else(|| var(env, "AWS_PROFILE"))
        .or_else(|| var(env, "AWS_DEFAULT_PROFILE"));
    let explicit = profile_name.is_some();
    let profile_name = profile_name.unwrap_or_else(|| "default".to_string());
    let profile = Profile::load(&profile_name, env)?;
    if explicit && !profile.found {
        return Err(format!(
            "AWS profile \"{profile_name}\" is in neither {} nor {}",
            profile.credentials_file.display(),
            profile.config_file.display()
        ));
    }
    let region = spec
        .attr("region")
        .map(str::to_string)
        .or_else(|| var(env, "AWS_REGION"))
        .or_else(|| var(env, "AWS_DEFAULT_REGION"))
        .or_else(|| profile.get("region"))
        .unwrap_or_else(|| "us-east-1".to_string());
    let ignore_configured = var(env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let configured = || {
        var(env, "AWS_ENDPOINT_URL_S3")
            .or_else(|| var(env, "AWS_ENDPOINT_URL"))
            .or_else(|| profile.get("endpoint_url"))
    };
    let endpoint = spec
        .attr("endpoint")
        .map(str::to_string)
        .or_else(|| {
            if ignore_configured {
                None
            } else {
                configured()
            }
        })
        .unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
    let credentials = match credentials_from_attributes(spec)? {
        Some(c) => Some(c),
        // A profile named in the backend's attributes wins over the
        // environment, as `--profile` does for the AWS CLI.
        None if named_profile.is_some() => profile.credentials()?,
        None => match credentials_from_env(env)? {
            Some(c) => Some(c),
            None => profile.credentials()?,
        },
    };
    Ok(Settings {
        region,
        endpoint,
        credentials,
    })
}

/// A key without its secret, or the other way round, is a mistake to be
/// told, not anonymous access.
fn pair(
    key: Option<String>,
    secret: Option<String>,
    token: Option<String>,
    source: &str,
    names: (&str, &str),
) -> Result<Option<Credentials>, String> {
    match (key, secret) {
        (Some(key), Some(secret)) => Ok(Some(Credentials {
            key,
            secret,
            token,
            source: source.to_string(),
        })),
        (None, None) => Ok(None),
        (Some(_), None) => Err(format!("{source}: {} without {}", names.0, names.1)),
        (None, Some(_)) => Err(format!("{source}: {} without {}", names.1, names.0)),
    }
}

fn credentials_from_attributes(spec: &BackendSpec) -> Result<Option<Credentials>, String> {
    let get = |k: &str| spec.attr(k).filter(|v| !v.is_empty()).map(str::to_string);
    pair(
        get("access-key-id"),
        get("secret-access-key"),
        get("session-token"),
        "attributes",
        ("access-key-id", "secret-access-key"),
    )
}

fn credentials_from_env(env: Env) -> Result<Option<Credentials>, String> {
    pair(
        var(env, "AWS_ACCESS_KEY_ID"),
        var(env, "AWS_SECRET_ACCESS_KEY"),
        var(env, "AWS_SESSION_TOKEN"),
        "environment",
        ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
    )
}

/// One profile's keys from the shared credentials file and the config
/// file; the credentials file wins where both have a key.
struct Profile {
    name: String,
    credentials_file: PathBuf,
    config_file: PathBuf,
    from_credentials: Vec<(String, String)>,
    from_config: Vec<(String, String)>,
    found: bool,
}

impl Profile {
    fn load(name: &str, env: Env) -> Result<Profile, String> {
        let home = var(env, "HOME").map(PathBuf::from);
        let path = |variable: &str, file: &str| {
            var(env, variable)
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".aws").join(file)))
                .unwrap_or_default()
        };
        let credentials_file = path("AWS_SHARED_CREDENTIALS_FILE", "credentials");
        let config_file = path("AWS_CONFIG_FILE", "config");
        let from_credentials = section(&read_ini(&credentials_file)?, name);
        // The config file names every profile but the default one
        // `[profile NAME]`.
        let config = read_ini(&config_file)?;
        let from_config = section(&config, &format!("profile {name}")).or_else(|| {
            (name == "default")
                .then(|| section(&config, name))
                .flatten()
        });
        Ok(Profile {
            name: name.to_string(),
            found: from_credentials.is_some() || from_config.is_some(),
            credentials_file,
            config_file,
            from_credentials: from_credentials.unwrap_or_default(),
            from_config: from_config.unwrap_or_default(),
        })
    }

    fn get(&self, key: &str) -> Option<String> {
        self.from_credentials
            .iter()
            .chain(&self.from_config)
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.clone())
    }

    fn credentials(&self) -> Result<Option<Credentials>, String> {
        pair(
            self.get("aws_access_key_id"),
            self.get("aws_secret_access_key"),
            self.get("aws_session_token"),
            &format!("AWS profile \"{}\"", self.name),
            ("aws_access_key_id", "aws_secret_access_key"),
        )
    }
}

/// The text of an INI file; empty when there is none. A FIFO or a huge
/// file there is an error, never a hang.
fn read_ini(path: &std::path::Path) -> Result<String, String> {
    if path.as_os_str().is_empty() {
        return Ok(String::new());
    }
    let read = || {
        let (file, len) = files::open_regular_file(path)?;
        files::read_at_most(file, len, files::MAX_CONFIG_FILE)
    };
    match read() {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// The `key = value` lines of section `[name]`, or `None` when the file
/// has no such section. Indented lines are a nested setting's
/// (`s3 =` then `  addressing_style = path`) and are left out.
fn section(text: &str, name: &str) -> Option<Vec<(String, String)>> {
    let mut found = None;
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = header.split_whitespace().collect::<Vec<_>>().join(" ") == name;
            if inside {
                found.get_or_insert_with(Vec::new);
            }
            continue;
        }
        if let (true, Some((k, v))) = (inside, line.split_once('=')) {
            found
                .get_or_insert_with(Vec::new)
                .push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    found
}

#[cfg(test)]
mod tests;
