//! `store.redis_url`, read: one server, a Cluster or a Sentinel-managed master.

/// Where the store's Redis is, read from `store.redis_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topology {
    /// One server, by its own URL.
    Single(String),
    /// Seed nodes of a Cluster, each as a `redis://` or `rediss://` URL.
    Cluster(Vec<String>),
    Sentinel {
        sentinels: Vec<(String, u16)>,
        master: String,
        tls: bool,
        /// From the URL's user info; for the data nodes, not the sentinels.
        username: Option<String>,
        password: Option<String>,
    },
}

impl Topology {
    pub fn parse(url: &str) -> Result<Self, String> {
        let (scheme, rest) = url.split_once("://").ok_or("is not a URL")?;
        let (tls, kind) = match scheme {
            "redis" | "rediss" | "redis+unix" | "unix" => return Ok(Self::Single(url.to_owned())),
            "redis+cluster" => (false, "cluster"),
            "rediss+cluster" => (true, "cluster"),
            "redis+sentinel" => (false, "sentinel"),
            "rediss+sentinel" => (true, "sentinel"),
            other => return Err(format!("has an unknown scheme `{other}`")),
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hosts) = match authority.rsplit_once('@') {
            Some((userinfo, hosts)) => (Some(userinfo), hosts),
            None => (None, authority),
        };
        let hosts: Vec<&str> = hosts.split(',').filter(|h| !h.is_empty()).collect();
        if hosts.is_empty() {
            return Err("names no host".into());
        }
        if kind == "cluster" {
            let node_scheme = if tls { "rediss" } else { "redis" };
            let credentials = userinfo.map(|u| format!("{u}@")).unwrap_or_default();
            let nodes = hosts
                .iter()
                .map(|h| format!("{node_scheme}://{credentials}{h}"))
                .collect();
            return Ok(Self::Cluster(nodes));
        }
        let master = path.trim_matches('/');
        if master.is_empty() || master.contains('/') {
            return Err("must end with the master's name: redis+sentinel://host:port,…/<master>".into());
        }
        let sentinels = hosts
            .iter()
            .map(|h| {
                let (host, port) = h.rsplit_once(':').unwrap_or((h, "26379"));
                let port = port.parse().map_err(|_| format!("has a bad port in `{h}`"))?;
                Ok((host.trim_start_matches('[').trim_end_matches(']').to_owned(), port))
            })
            .collect::<Result<_, String>>()?;
        let (username, password) = match userinfo.map(|u| u.split_once(':').unwrap_or((u, ""))) {
            Some((user, pass)) => (
                Some(user.to_owned()).filter(|u| !u.is_empty()),
                Some(pass.to_owned()).filter(|p| !p.is_empty()),
            ),
            None => (None, None),
        };
        Ok(Self::Sentinel {
            sentinels,
            master: master.to_owned(),
            tls,
            username,
            password,
        })
    }
}
