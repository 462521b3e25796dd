//! IANA time zones from the runtime's ICU (`Intl.DateTimeFormat`), for schedules. Compiling the
//! database in with chrono-tz would add about 120 KB gzipped to a Worker whose budget is 400 KB;
//! the runtime already carries it. A zone answers [`ZoneLookup`]: the offset at an instant is
//! the wall-clock reading `formatToParts` gives for it, minus the instant.

use chrono::NaiveDate;
use js_sys::{Array, Date, Function, Intl, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::domain::schedule::ZoneLookup;

/// The range of a JavaScript `Date`; `formatToParts` throws beyond it.
const MAX_DATE_MS: i64 = 8_640_000_000_000_000;

/// A time zone the runtime knows, with a formatter that reads wall clocks in it.
pub struct IntlZone {
    name: String,
    format: Intl::DateTimeFormat,
}

/// Validates an IANA time zone name (`Europe/Paris`, `America/New_York`, `UTC`), in any case.
pub fn zone(name: &str) -> Result<IntlZone, String> {
    let name = name.trim();
    let unknown = || {
        format!(
            "unknown time zone '{name}': use an IANA name such as Europe/Paris or America/New_York, or UTC"
        )
    };
    // IANA names are letters, digits, '/', '_', '-' and '+'. Refuse what Intl also takes but is
    // not a zone name, such as the offsets '+01:00' and '-05'.
    let plausible = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with(['+', '-'])
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'));
    if !plausible {
        return Err(unknown());
    }
    let options = Intl::DateTimeFormatOptions::new();
    options.set_time_zone(name);
    options.set_hour_cycle(Intl::HourCycle::H23);
    options.set_year(Intl::YearFormat::Numeric);
    options.set_month(Intl::MonthFormat::Numeric);
    options.set_day(Intl::DayFormat::Numeric);
    options.set_hour(Intl::NumericFormat::Numeric);
    options.set_minute(Intl::NumericFormat::Numeric);
    options.set_second(Intl::NumericFormat::Numeric);
    // Through Reflect.construct, because js-sys's `DateTimeFormat::new` does not catch the
    // RangeError an unknown zone throws.
    let constructor = Reflect::get(&js_sys::global(), &JsValue::from_str("Intl"))
        .and_then(|intl| Reflect::get(&intl, &JsValue::from_str("DateTimeFormat")))
        .ok()
        .and_then(|c| c.dyn_into::<Function>().ok())
        .ok_or_else(|| "the runtime has no Intl.DateTimeFormat".to_string())?;
    let arguments = Array::of2(&JsValue::from_str("en-US"), &options);
    let format: Intl::DateTimeFormat = Reflect::construct(&constructor, &arguments)
        .map_err(|_| unknown())?
        .unchecked_into();
    let canonical = Reflect::get(&format.resolved_options(), &JsValue::from_str("timeZone"))
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_else(|| name.to_string());
    Ok(IntlZone {
        name: canonical,
        format,
    })
}

impl IntlZone {
    /// The runtime's spelling of the name (`europe/paris` is `Europe/Paris`), the one to store.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl ZoneLookup for IntlZone {
    fn offset_at_utc(&self, utc_ms: i64) -> Result<i32, String> {
        if !(-MAX_DATE_MS..=MAX_DATE_MS).contains(&utc_ms) {
            return Err(format!("instant {utc_ms} is out of range"));
        }
        let parts = self
            .format
            .format_to_parts(&Date::new(&JsValue::from_f64(utc_ms as f64)));
        // year, month, day, hour, minute, second
        let mut fields = [None::<u32>; 6];
        for part in parts.iter() {
            let text = |key: &str| {
                Reflect::get(&part, &JsValue::from_str(key))
                    .ok()
                    .and_then(|v| v.as_string())
            };
            let slot = match text("type").as_deref() {
                Some("year") => 0,
                Some("month") => 1,
                Some("day") => 2,
                Some("hour") => 3,
                Some("minute") => 4,
                Some("second") => 5,
                _ => continue,
            };
            fields[slot] = text("value").and_then(|v| v.parse().ok());
        }
        let bad = || format!("{}: unreadable wall clock at {utc_ms}", self.name);
        let [Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)] = fields
        else {
            return Err(bad());
        };
        // `% 24`: some engines have written midnight as hour 24 despite `h23`.
        let wall = NaiveDate::from_ymd_opt(year as i32, month, day)
            .and_then(|d| d.and_hms_opt(hour % 24, minute, second))
            .ok_or_else(bad)?
            .and_utc()
            .timestamp();
        i32::try_from(wall - utc_ms.div_euclid(1000)).map_err(|_| bad())
    }
}
