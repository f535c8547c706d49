//! Paging of every list: query `pageNumber` (from 1) and `pageSize`
//! (default 20, maximum 100: `components.parameters.pageNumber`/`pageSize`),
//! and the `Pagination` block with absolute page URLs.

use super::model::{InvalidParam, Page, Pagination};

/// The description's largest `pageSize` (`components.parameters.pageSize.maximum`).
pub(crate) const MAX_PAGE_SIZE: u32 = 100;

/// Requested page (1-based) and the size served.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PageRequest {
    pub(crate) number: u32,
    pub(crate) size: u32,
}

/// Where the page URLs point: `http://{host}{path}?{other query}&pageNumber=N&pageSize=S`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PageLinks {
    /// `127.0.0.1:PORT`, from the request's `Host` header.
    pub(crate) host: String,
    /// The request path, `/api/...`.
    pub(crate) path: String,
    /// The request's other query parameters (filters), raw, kept in every link.
    pub(crate) keep: Vec<String>,
}

impl PageLinks {
    /// Links for a request: `raw_query` is the query string as sent; its
    /// `pageNumber`/`pageSize` are dropped (they are set per link).
    pub(crate) fn new(host: &str, path: &str, raw_query: Option<&str>) -> PageLinks {
        let keep = raw_query
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .filter(|p| {
                let key = p.split('=').next().unwrap_or("");
                !key.eq_ignore_ascii_case("pageNumber") && !key.eq_ignore_ascii_case("pageSize")
            })
            .map(str::to_string)
            .collect();
        PageLinks {
            host: host.to_string(),
            path: path.to_string(),
            keep,
        }
    }

    fn url(&self, number: u32, size: u32) -> String {
        let mut q = self.keep.join("&");
        if !q.is_empty() {
            q.push('&');
        }
        format!(
            "http://{}{}?{q}pageNumber={number}&pageSize={size}",
            self.host, self.path
        )
    }
}

/// Reads `pageNumber`/`pageSize` (names case-insensitive, as in ASP.NET).
/// Not an integer, `pageNumber` < 1, or `pageSize` outside 1..=100 is a 400
/// naming the parameter (the parameter schemas' `minimum`/`maximum`).
/// `serve_max` (≤ 100) may serve fewer rows than asked: the answer's `pageSize` says so.
pub(crate) fn page_request(
    query: &[(String, String)],
    default_size: u32,
    serve_max: u32,
) -> Result<PageRequest, Vec<InvalidParam>> {
    let mut errors = Vec::new();
    let mut get = |name: &str, max: u32| -> Option<u32> {
        let (_, v) = query
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))?;
        match v.trim().parse::<u32>() {
            Ok(n) if (1..=max).contains(&n) => Some(n),
            _ => {
                let range = if max == u32::MAX {
                    "an integer of at least 1".to_string()
                } else {
                    format!("an integer from 1 to {max}")
                };
                errors.push(InvalidParam::new(
                    name,
                    format!("The parameter is invalid. '{v}' is not {range}."),
                ));
                None
            }
        }
    };
    let number = get("pageNumber", u32::MAX);
    let size = get("pageSize", MAX_PAGE_SIZE);
    if !errors.is_empty() {
        return Err(errors);
    }
    let serve_max = serve_max.clamp(1, MAX_PAGE_SIZE);
    Ok(PageRequest {
        number: number.unwrap_or(1),
        size: size.unwrap_or(default_size).clamp(1, serve_max),
    })
}

/// Cuts one page out of `items`.
///
/// An empty list has one (empty) page: `totalPages` = 1, so page 1 always
/// exists. A page past the end answers with empty `data`, the real totals and
/// a `previousPage` pointing at the last page.
pub(crate) fn paginate<T>(items: Vec<T>, req: PageRequest, links: &PageLinks) -> Page<T> {
    let size = req.size.max(1);
    let total = items.len() as u64;
    let total_pages = u32::try_from(total.div_ceil(u64::from(size)))
        .unwrap_or(u32::MAX)
        .max(1);
    let start = (u64::from(req.number) - 1).saturating_mul(u64::from(size));
    let data: Vec<T> = if start >= total {
        Vec::new()
    } else {
        items
            .into_iter()
            .skip(usize::try_from(start).unwrap_or(usize::MAX))
            .take(size as usize)
            .collect()
    };
    let next_page = (req.number < total_pages).then(|| links.url(req.number + 1, size));
    let previous_page =
        (req.number > 1).then(|| links.url((req.number - 1).min(total_pages), size));
    Page {
        pagination: Pagination {
            page_number: req.number,
            page_size: size,
            first_page: links.url(1, size),
            last_page: links.url(total_pages, size),
            total_pages,
            total_records: total,
            next_page,
            previous_page,
        },
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> PageLinks {
        PageLinks::new(
            "127.0.0.1:9",
            "/api/companies",
            Some("employeeId=x&pageSize=2"),
        )
    }

    fn page(n: u32, size: u32, count: usize) -> Page<usize> {
        paginate(
            (0..count).collect(),
            PageRequest { number: n, size },
            &links(),
        )
    }

    #[test]
    fn pages_walk_to_the_end_with_absolute_links() {
        let p1 = page(1, 2, 5);
        assert_eq!(p1.data, [0, 1]);
        let u = |n: u32| {
            format!("http://127.0.0.1:9/api/companies?employeeId=x&pageNumber={n}&pageSize=2")
        };
        assert_eq!(p1.pagination.next_page, Some(u(2)));
        assert_eq!(p1.pagination.previous_page, None);
        assert_eq!(p1.pagination.first_page, u(1));
        assert_eq!(p1.pagination.last_page, u(3));
        assert_eq!(p1.pagination.total_pages, 3);
        let p3 = page(3, 2, 5);
        assert_eq!(p3.data, [4]);
        assert_eq!(
            (p3.pagination.next_page, p3.pagination.previous_page),
            (None, Some(u(2)))
        );
        let p9 = page(9, 2, 5);
        assert!(p9.data.is_empty());
        assert_eq!(p9.pagination.previous_page, Some(u(3)));
    }

    #[test]
    fn empty_list_has_one_empty_page() {
        let p = page(1, 100, 0);
        assert!(p.data.is_empty());
        assert_eq!(
            (p.pagination.total_pages, p.pagination.total_records),
            (1, 0)
        );
        assert_eq!(p.pagination.next_page, None);
    }

    #[test]
    fn page_parameters_follow_the_parameter_schemas() {
        let q = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            page_request(&q(&[]), 20, 100),
            Ok(PageRequest {
                number: 1,
                size: 20
            })
        );
        assert_eq!(
            page_request(&q(&[("pagesize", "100"), ("pageNumber", "3")]), 20, 100),
            Ok(PageRequest {
                number: 3,
                size: 100
            })
        );
        assert_eq!(
            page_request(&q(&[("pageSize", "50")]), 20, 10).map(|r| r.size),
            Ok(10)
        );
        for bad in ["101", "0", "x", "-1"] {
            let e = page_request(&q(&[("pageSize", bad)]), 20, 100).expect_err(bad);
            assert_eq!(e[0].name, "pageSize");
        }
        let e = page_request(&q(&[("pageNumber", "0")]), 20, 100).expect_err("0");
        assert_eq!(e[0].name, "pageNumber");
    }
}
