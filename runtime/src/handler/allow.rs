//! The resource allow-list, the analogue of an execution role: the Resource ARNs (or patterns,
//! `*` for any run of characters and `?` for one, as in IAM; or Lambda function names, in the
//! machine's account and region) a state machine may invoke. A Task
//! naming another resource does not compile; a Lambda function named at run time
//! (`lambda:invoke`'s `FunctionName`) outside the list fails its Task as AWS fails one its role
//! may not invoke: `Lambda.AWSLambdaException`, which Retry and Catch see like any other error.

use super::TaskError;

/// The patterns, and the account and region a bare function name is resolved in.
#[derive(Clone, Debug)]
pub(crate) struct Allow {
    patterns: Vec<String>,
    /// `arn:aws:lambda:REGION:ACCOUNT:function:`, from the state machine's ARN.
    function_prefix: String,
    /// Who is refused, in the cause: the execution role.
    role: String,
}

impl Allow {
    /// `patterns`, for a state machine of ARN `state_machine_arn` run by the role `role_arn`. A
    /// pattern that is no ARN (it does not start with `arn:`, and is not `*`) names Lambda
    /// functions in the machine's account and region, as a bare FunctionName does.
    pub fn new(patterns: &[String], state_machine_arn: &str, role_arn: &str) -> Allow {
        // arn:aws:states:REGION:ACCOUNT:stateMachine:NAME
        let parts: Vec<&str> = state_machine_arn.split(':').collect();
        let (region, account) = match parts.as_slice() {
            [_, _, _, region, account, ..] => (*region, *account),
            _ => ("us-east-1", "123456789012"),
        };
        let function_prefix = format!("arn:aws:lambda:{region}:{account}:function:");
        let patterns = patterns
            .iter()
            .map(|p| if p.starts_with("arn:") || p == "*" { p.clone() } else { format!("{function_prefix}{p}") })
            .collect();
        Allow { patterns, function_prefix, role: role_arn.to_owned() }
    }

    /// Whether the resource `arn` may be invoked: it must match a pattern as written, so that
    /// another account, region or qualifier is another resource.
    pub fn allows(&self, arn: &str) -> bool {
        self.patterns.iter().any(|p| matches(p, arn))
    }

    /// Whether a Lambda function given as `lambda:invoke`'s FunctionName may be invoked: a full
    /// ARN as it is, a bare name (with or without `:QUALIFIER`) in the machine's account and
    /// region.
    pub fn allows_function(&self, name: &str) -> bool {
        self.allows(&self.function_arn(name))
    }

    fn function_arn(&self, name: &str) -> String {
        if name.starts_with("arn:") {
            name.to_owned()
        } else {
            format!("{}{name}", self.function_prefix)
        }
    }

    /// The failure of a Task whose function the list does not allow, worded as AWS words it.
    pub fn refused_function(&self, name: &str) -> TaskError {
        TaskError::new(
            "Lambda.AWSLambdaException",
            format!(
                "User: {} is not authorized to perform: lambda:InvokeFunction on resource: {} because no \
                 identity-based policy allows the lambda:InvokeFunction action (Service: AWSLambda; Status \
                 Code: 403; Error Code: AccessDeniedException; Request ID: 00000000-0000-0000-0000-000000000000; \
                 Proxy: null)",
                self.role,
                self.function_arn(name)
            ),
        )
    }
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters and `?` one.
fn matches(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // The usual greedy match with one backtrack point (the last `*`): linear in practice.
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_as_iam_resource_patterns_do() {
        assert!(matches("arn:aws:lambda:*:*:function:enrich-*", "arn:aws:lambda:us-east-1:1:function:enrich-a"));
        assert!(!matches("arn:aws:lambda:*:*:function:enrich-*", "arn:aws:lambda:us-east-1:1:function:other"));
        assert!(matches("a?c", "abc") && !matches("a?c", "ac"));
        assert!(matches("*", "") && matches("exact", "exact") && !matches("exact", "exactly"));
        assert!(matches("*a*b*", "xxaxxbxx") && !matches("*a*b*", "xxbxxaxx"));
    }

    #[test]
    fn a_bare_function_name_is_resolved_in_the_machines_account_and_region() {
        let patterns = ["arn:aws:lambda:us-east-1:123456789012:function:enrich".to_owned()];
        let allow =
            Allow::new(&patterns, "arn:aws:states:us-east-1:123456789012:stateMachine:m", "arn:aws:iam::1:role/r");
        assert!(allow.allows_function("enrich"));
        assert!(allow.allows_function("arn:aws:lambda:us-east-1:123456789012:function:enrich"));
        assert!(!allow.allows_function("other"));
        let refused = allow.refused_function("other");
        assert_eq!(refused.error.as_ref(), "Lambda.AWSLambdaException");
        assert!(refused
            .cause
            .as_deref()
            .unwrap_or_default()
            .contains("function:other because no identity-based policy"));
    }
}
