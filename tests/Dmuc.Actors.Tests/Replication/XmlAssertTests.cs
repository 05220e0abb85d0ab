using Xunit.Sdk;
using static Dmuc.Actors.Tests.Infrastructure.RoomStanzas;

namespace Dmuc.Actors.Tests.Replication;

/// <summary>The golden comparison is only as strict as this: it must catch every difference but order and wildcards.</summary>
public sealed class XmlAssertTests
{
    private const string Expected = "<presence from='r@s/n' id='*'><x xmlns='urn:x'><item a='1'/></x></presence>";

    [Theory]
    [InlineData("<presence id='abc' from='r@s/n'>\n  <x xmlns='urn:x'><item a='1'/></x>\n</presence>")]
    public void Attribute_order_whitespace_and_wildcarded_values_do_not_matter(string actual) =>
        XmlAssert.Matches(Expected, [Parse(actual)]);

    [Theory]
    [InlineData("<presence from='r@s/m' id='1'><x xmlns='urn:x'><item a='1'/></x></presence>")]
    [InlineData("<presence from='r@s/n' id='1' type='unavailable'><x xmlns='urn:x'><item a='1'/></x></presence>")]
    [InlineData("<presence from='r@s/n'><x xmlns='urn:x'><item a='1'/></x></presence>")]
    [InlineData("<presence from='r@s/n' id='1'><x xmlns='urn:y'><item a='1'/></x></presence>")]
    [InlineData("<presence from='r@s/n' id='1'><x xmlns='urn:x'><item a='1'/><status/></x></presence>")]
    [InlineData("<presence from='r@s/n' id='1'><x xmlns='urn:x'><item a='1' jid='j@h'/></x></presence>")]
    [InlineData("<message from='r@s/n' id='1'><x xmlns='urn:x'><item a='1'/></x></message>")]
    public void Any_other_difference_fails(string actual) =>
        Assert.Throws<FailException>(() => XmlAssert.Matches(Expected, [Parse(actual)]));
}
