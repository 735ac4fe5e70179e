//! Rule variables (`$HOME_NET`, `$HTTP_PORTS`): Suricata's `vars.address-groups.*` and
//! `vars.port-groups.*` keys, with Suricata 7's default values for the names its default
//! `suricata.yaml` defines.

use std::collections::BTreeMap;

/// Default address groups of Suricata 7.0's `suricata.yaml`.
pub const DEFAULT_ADDRESS_GROUPS: &[(&str, &str)] = &[
    ("HOME_NET", "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]"),
    ("EXTERNAL_NET", "!$HOME_NET"),
    ("HTTP_SERVERS", "$HOME_NET"),
    ("SMTP_SERVERS", "$HOME_NET"),
    ("SQL_SERVERS", "$HOME_NET"),
    ("DNS_SERVERS", "$HOME_NET"),
    ("TELNET_SERVERS", "$HOME_NET"),
    ("AIM_SERVERS", "$EXTERNAL_NET"),
    ("DC_SERVERS", "$HOME_NET"),
    ("DNP3_SERVER", "$HOME_NET"),
    ("DNP3_CLIENT", "$HOME_NET"),
    ("MODBUS_CLIENT", "$HOME_NET"),
    ("MODBUS_SERVER", "$HOME_NET"),
    ("ENIP_CLIENT", "$HOME_NET"),
    ("ENIP_SERVER", "$HOME_NET"),
];

/// Default port groups of Suricata 7.0's `suricata.yaml`.
pub const DEFAULT_PORT_GROUPS: &[(&str, &str)] = &[
    ("HTTP_PORTS", "80"),
    ("SHELLCODE_PORTS", "!80"),
    ("ORACLE_PORTS", "1521"),
    ("SSH_PORTS", "22"),
    ("DNP3_PORTS", "20000"),
    ("MODBUS_PORTS", "502"),
    ("FILE_DATA_PORTS", "[$HTTP_PORTS,110,143]"),
    ("FTP_PORTS", "21"),
    ("GENEVE_PORTS", "6081"),
    ("VXLAN_PORTS", "4789"),
    ("TEREDO_PORTS", "3544"),
];

const ADDRESS_PREFIX: &str = "vars.address-groups.";
const PORT_PREFIX: &str = "vars.port-groups.";

/// The variables a rule set is loaded with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vars {
    address: BTreeMap<String, String>,
    port: BTreeMap<String, String>,
}

impl Default for Vars {
    fn default() -> Self {
        Vars::from_settings(&BTreeMap::new())
    }
}

impl Vars {
    /// Build from Suricata-style settings: keys `vars.address-groups.NAME` and
    /// `vars.port-groups.NAME` (other keys are ignored). Names not set keep Suricata's
    /// defaults.
    pub fn from_settings(settings: &BTreeMap<String, String>) -> Self {
        let mut address: BTreeMap<String, String> = DEFAULT_ADDRESS_GROUPS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut port: BTreeMap<String, String> = DEFAULT_PORT_GROUPS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for (k, v) in settings {
            if let Some(name) = k.strip_prefix(ADDRESS_PREFIX) {
                address.insert(name.to_string(), v.trim().to_string());
            } else if let Some(name) = k.strip_prefix(PORT_PREFIX) {
                port.insert(name.to_string(), v.trim().to_string());
            }
        }
        Vars { address, port }
    }

    /// Value of an address group.
    pub fn address(&self, name: &str) -> Option<&str> {
        self.address.get(name).map(String::as_str)
    }

    /// Value of a port group.
    pub fn port(&self, name: &str) -> Option<&str> {
        self.port.get(name).map(String::as_str)
    }
}
