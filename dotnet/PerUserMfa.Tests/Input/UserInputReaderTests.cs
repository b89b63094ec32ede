using System.Collections;
using System.Management.Automation;
using PerUserMfa.Input;
using Xunit;

namespace PerUserMfa.Tests.Input
{
    public class UserInputReaderTests
    {
        private static PSObject Row(params (string Name, object? Value)[] columns)
        {
            var row = new PSObject();
            foreach (var (name, value) in columns)
            {
                row.Properties.Add(new PSNoteProperty(name, value));
            }

            return row;
        }

        [Theory]
        [InlineData("UPN")]
        [InlineData("Username")]
        [InlineData("User")]
        [InlineData("UserId")]
        [InlineData("ObjectId")]
        [InlineData("userprincipalname")]
        public void A_column_admins_name_the_user_with_is_read(string column)
        {
            Assert.Equal("adele.vance@contoso.com", UserInputReader.Read(Row((column, "adele.vance@contoso.com"))).UserId);
        }

        [Fact]
        public void An_empty_Id_falls_back_to_the_UPN_next_to_it()
        {
            var read = UserInputReader.Read(Row(("Id", ""), ("UserPrincipalName", "adele.vance@contoso.com")));
            Assert.Equal("adele.vance@contoso.com", read.UserId);
        }

        [Fact]
        public void Only_empty_user_columns_are_a_row_error_not_a_stop()
        {
            var read = UserInputReader.Read(Row(("Id", " "), ("UserPrincipalName", null)));
            Assert.Null(read.UserId);
            Assert.False(read.StopsTheCommand);
            Assert.Equal("UserInputEmpty", read.Problem!.ErrorId);
        }

        [Fact]
        public void A_mail_column_is_refused_with_why()
        {
            var read = UserInputReader.Read(Row(("Mail", "adele.vance@contoso.com")));
            Assert.True(read.StopsTheCommand);
            Assert.Equal("UserInputIsMail", read.Problem!.ErrorId);
            Assert.Contains("not a user principal name", read.Problem.Message);
        }

        [Fact]
        public void An_object_without_user_columns_names_what_it_has_and_what_is_expected()
        {
            var read = UserInputReader.Read(Row(("Name", "Adele"), ("Department", "Sales")));
            Assert.True(read.StopsTheCommand);
            Assert.Contains("Name, Department", read.Problem!.Message);
            Assert.Contains("Id, ObjectId, UserId, UserPrincipalName, UPN, Username, User", read.Problem.Message);
        }

        [Fact]
        public void Strings_hashtables_and_braced_guids_are_read()
        {
            Assert.Equal("a@contoso.com", UserInputReader.Read(new PSObject(" a@contoso.com ")).UserId);
            Assert.Equal("b@contoso.com", UserInputReader.Read(new Hashtable { ["upn"] = "b@contoso.com" }).UserId);
            Assert.Equal("00000000-0000-4000-8000-000000000001", UserInputReader.Read("{00000000-0000-4000-8000-000000000001}").UserId);
            Assert.Equal("{not-a-guid}", UserInputReader.Read("{not-a-guid}").UserId);
            Assert.True(UserInputReader.Read(2).StopsTheCommand);
        }

        [Fact]
        public void Spellings_of_one_id_share_a_key()
        {
            Assert.Equal(UserInputReader.Key("Adele.Vance@contoso.com"), UserInputReader.Key("adele.vance@CONTOSO.com"));
            Assert.Equal(UserInputReader.Key("{00000000-0000-4000-8000-00000000000A}"), UserInputReader.Key("00000000-0000-4000-8000-00000000000a"));
        }
    }
}
